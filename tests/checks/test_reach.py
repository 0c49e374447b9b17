"""The reach stage against real listeners and real firewall rules in network namespaces."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from tests.servers.dns import dns_server
from tests.servers.netns import (
    FirewalledHost,
    Ipv6Mode,
    Rule,
    client_namespace,
    firewalled_host,
)
from wsdiag.checks import CheckOptions
from wsdiag.checks.reach import diagnose_ports, probe_all, probe_tcp
from wsdiag.classify import classify_connect_error
from wsdiag.cli import cli
from wsdiag.models import ErrorKind, Stage, StageResult, Status

FAST = CheckOptions(timeout=1.0)
# ICMP rejects on a veth pair surface at the first SYN retransmission (1 s), see
# tests/servers/netns.py; a longer timeout shows they still end well before it.
PATIENT = CheckOptions(timeout=3.0)
FAMILIES = ["ipv4", "ipv6"]
OPEN, DROP, UNREACHABLE, PROHIBITED, NO_ROUTE, RESET, CLOSED = 80, 81, 82, 83, 84, 85, 86


def timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    started = time.monotonic()
    value = fn(*args)
    return value, time.monotonic() - started


def assert_explained(result: StageResult, kind: ErrorKind) -> None:
    assert result.kind is kind, result
    assert result.stage is Stage.REACH
    assert result.cause and result.fix
    assert [p.name for p in result.phases] == ["connect"]


@pytest.fixture(scope="module")
def firewall() -> Iterator[FirewalledHost]:
    rules: dict[int, Rule] = {
        DROP: "drop",
        UNREACHABLE: "unreachable",
        PROHIBITED: "prohibited",
        NO_ROUTE: "no-route",
        RESET: "reset",
    }
    with firewalled_host([OPEN, DROP, UNREACHABLE, PROHIBITED, NO_ROUTE, RESET], rules) as host:
        yield host


def address_of(host: FirewalledHost, family: str) -> str:
    return host.ipv6 if family == "ipv6" else host.ipv4


@pytest.mark.netns
@pytest.mark.parametrize("family", FAMILIES)
def test_open_port_is_ok_with_its_connect_time(firewall: FirewalledHost, family: str) -> None:
    address = address_of(firewall, family)
    result, elapsed = timed(probe_tcp, "ws-fw.test", address, OPEN, FAST)
    assert result.status is Status.OK and result.kind is None
    assert result.summary == "open"
    assert 0 < result.elapsed_ms < 500 and elapsed < 0.5
    bracketed = f"[{address}]" if family == "ipv6" else address
    assert result.subject == f"ws-fw.test {bracketed}:{OPEN}"
    assert result.details == {
        "host": "ws-fw.test",
        "address": address,
        "port": OPEN,
        "family": family,
        "errno": None,
    }


def test_refused_on_loopback() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, never listening: the port refuses
        port = sock.getsockname()[1]
        result, elapsed = timed(probe_tcp, "127.0.0.1", "127.0.0.1", port, FAST)
    assert_explained(result, ErrorKind.TCP_REFUSED)
    assert result.status is Status.FAIL and result.summary == "refused"
    assert result.subject == f"127.0.0.1:{port}"
    assert result.details["errno"] == "ECONNREFUSED"
    assert elapsed < 0.5


@pytest.mark.netns
@pytest.mark.parametrize("family", FAMILIES)
def test_dropped_port_is_filtered_after_the_timeout(firewall: FirewalledHost, family: str) -> None:
    result, elapsed = timed(probe_tcp, "h", address_of(firewall, family), DROP, FAST)
    assert_explained(result, ErrorKind.TCP_FILTERED)
    assert result.status is Status.FAIL
    assert result.details["errno"] is None
    assert f"TCP {DROP}" in (result.fix or "")
    assert 0.95 <= elapsed < FAST.timeout + 1


@pytest.mark.netns
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    ("port", "errno_name"),
    [(UNREACHABLE, "EHOSTUNREACH"), (PROHIBITED, None), (NO_ROUTE, "ENETUNREACH")],
)
def test_icmp_reject_is_unreachable_before_the_timeout(
    firewall: FirewalledHost, family: str, port: int, errno_name: str | None
) -> None:
    result, elapsed = timed(probe_tcp, "h", address_of(firewall, family), port, PATIENT)
    assert_explained(result, ErrorKind.TCP_UNREACHABLE)
    assert result.status is Status.FAIL
    if errno_name is None:  # admin-prohibited: EHOSTUNREACH for IPv4, EACCES for IPv6
        errno_name = "EACCES" if family == "ipv6" else "EHOSTUNREACH"
    assert result.details["errno"] == errno_name
    # A network-unreachable answer from the path must not read as "no route here".
    assert "ICMP" in (result.cause or "") or "prohibited" in (result.cause or "")
    assert elapsed < 2.0


@pytest.mark.netns
@pytest.mark.parametrize("family", FAMILIES)
def test_tcp_reset_reject_is_refused(firewall: FirewalledHost, family: str) -> None:
    for port in (RESET, CLOSED):
        result, elapsed = timed(probe_tcp, "h", address_of(firewall, family), port, FAST)
        assert_explained(result, ErrorKind.TCP_REFUSED)
        assert result.details["errno"] == "ECONNREFUSED" and elapsed < 0.5


@pytest.mark.netns
def test_probes_run_concurrently_and_keep_their_order(firewall: FirewalledHost) -> None:
    targets = [(f"h{i}", address_of(firewall, FAMILIES[i % 2]), DROP) for i in range(8)]
    targets.insert(3, ("open", firewall.ipv4, OPEN))
    results, elapsed = timed(probe_all, targets, FAST)
    assert elapsed < FAST.timeout + 0.9  # eight timeouts, waited for at once
    assert [(r.details["host"], r.details["address"]) for r in results] == [
        (h, a) for h, a, _ in targets
    ]
    assert [r.kind for r in results].count(ErrorKind.TCP_FILTERED) == 8
    assert results[3].status is Status.OK
    assert probe_all([], FAST) == []


@pytest.mark.netns
def test_443_blocked_while_80_is_open() -> None:
    with firewalled_host([80, 443], {443: "drop"}) as host:
        targets = [("ws.test", a, p) for p in (443, 80) for a in (host.ipv4, host.ipv6)]
        results, elapsed = timed(probe_all, targets, FAST)
    assert elapsed < FAST.timeout + 0.9
    assert [r.kind for r in results] == [ErrorKind.TCP_FILTERED] * 2 + [None] * 2
    findings = diagnose_ports("ws.test", results)
    assert len(findings) == 1
    finding = findings[0]
    assert finding.kind is ErrorKind.TCP_PORT_443_BLOCKED and finding.status is Status.FAIL
    assert finding.stage is Stage.REACH and finding.subject == "ws.test"
    assert finding.cause and "443" in finding.cause
    assert finding.fix and "forceTLS: false" in finding.fix and "ws://" in finding.fix
    assert finding.details["open_ports"] == [80]


@pytest.mark.netns
def test_80_blocked_while_443_is_open_is_a_note() -> None:
    with firewalled_host([80, 443], {80: "reset"}) as host:
        targets = [("ws.test", host.ipv4, 443), ("ws.test", host.ipv4, 80)]
        results = probe_all(targets, FAST)
    assert [r.status for r in results] == [Status.OK, Status.FAIL]
    findings = diagnose_ports("ws.test", results)
    assert [(f.status, f.kind) for f in findings] == [(Status.OK, None)]
    assert "only wss:// on 443" in findings[0].summary


@pytest.mark.netns
def test_nothing_to_say_when_both_ports_agree(firewall: FirewalledHost) -> None:
    both_open = probe_all([("h", firewall.ipv4, OPEN), ("h", firewall.ipv6, OPEN)], FAST)
    assert diagnose_ports("h", both_open) == []
    # Only one port probed (a self-hosted server on 6001, say): no comparison.
    assert diagnose_ports("h", probe_all([("h", firewall.ipv4, RESET)], FAST)) == []


def listening(address: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family)
    sock.bind((address, 0))
    sock.listen(8)  # the kernel completes handshakes without accept()
    return sock


@pytest.mark.netns
@pytest.mark.parametrize(
    ("mode", "errno_name"),
    [("none", "ENETUNREACH"), ("disabled", "EADDRNOTAVAIL"), ("link-local", None)],
)
def test_a_machine_without_ipv6_warns_and_ipv4_carries_on(
    mode: Ipv6Mode, errno_name: str | None
) -> None:
    with (
        client_namespace(mode) as client,
        listening(client.server_ipv4) as v4,
        listening(client.server_ipv6) as v6,
    ):
        targets = [
            ("ws.test", client.server_ipv6, v6.getsockname()[1]),
            ("ws.test", client.server_ipv4, v4.getsockname()[1]),
        ]
        results, elapsed = timed(client.run, probe_all, targets, FAST)
        # The same IPv6 target from this (root) namespace works: the gap is the client's.
        assert probe_all(targets[:1], FAST)[0].status is Status.OK
    ipv6, ipv4 = results
    assert ipv4.status is Status.OK
    assert_explained(ipv6, ErrorKind.TCP_NETWORK_DOWN)
    assert ipv6.status is Status.WARN and ipv6.summary == "no IPv6 network"
    assert ipv6.details["errno"] == errno_name
    assert "IPv6" in (ipv6.cause or "") and "IPv4" in (ipv6.fix or "")
    assert elapsed < FAST.timeout + 0.5  # link-local: the timeout; the others: at once
    findings = diagnose_ports("ws.test", results)
    assert [(f.status, f.kind) for f in findings] == [(Status.WARN, ErrorKind.TCP_NETWORK_DOWN)]
    assert findings[0].cause and "Happy Eyeballs" in (findings[0].fix or "")
    # An IPv6-only host is another matter: nothing can connect.
    only_v6 = diagnose_ports("ws.test", [ipv6])
    assert [(f.status, f.kind) for f in only_v6] == [(Status.FAIL, ErrorKind.TCP_NETWORK_DOWN)]


@pytest.mark.netns
def test_this_machines_own_firewall_drop_is_filtered() -> None:
    with client_namespace("none") as client, listening(client.server_ipv4) as server:
        port = server.getsockname()[1]
        client.block_outbound(port)
        result, elapsed = timed(client.run, probe_tcp, "h", client.server_ipv4, port, FAST)
    # TCP retries a SYN its own netfilter dropped instead of failing connect(): it
    # looks like any other drop until the kernel gives up (EPERM, minutes later).
    assert_explained(result, ErrorKind.TCP_FILTERED)
    assert 0.95 <= elapsed < FAST.timeout + 1
    kind, cause, fix = classify_connect_error(
        PermissionError(errno.EPERM, "Operation not permitted"), "192.0.2.7", 443, 1.0
    )
    assert kind is ErrorKind.TCP_FILTERED and "own firewall" in cause and "443" in fix


def test_reset_during_connect_is_tcp_reset() -> None:
    # A RST answering our SYN reads as "refused"; a reset mid-handshake (some
    # middleboxes) cannot be staged with iptables, so the error is injected.
    exc = ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")
    kind, cause, fix = classify_connect_error(exc, "192.0.2.7", 443, 1.0)
    assert kind is ErrorKind.TCP_RESET and "192.0.2.7:443" in cause and fix


@pytest.mark.netns
def test_the_namespace_is_removed_even_when_the_test_fails() -> None:
    with pytest.raises(RuntimeError, match="boom"), firewalled_host([80], {443: "drop"}) as host:
        name = host.name
        raise RuntimeError("boom")
    namespaces = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert name.startswith("wsdiag-") and name not in namespaces.split()
    link = subprocess.run(
        ["ip", "link", "show", "dev", host.link], capture_output=True, check=False
    )
    assert link.returncode != 0


@pytest.mark.netns
def test_check_through_dns_and_firewall_names_the_blocked_port() -> None:
    """The whole path a user meets: DNS, 443 dropped and 80 open, the diagnosis, the exit code."""
    with firewalled_host([80, 443], {443: "drop"}) as host:
        zone = {f"{p}-fw.pusher.com": {"A": [(host.ipv4, 60)]} for p in ("ws", "api", "sockjs")}
        with dns_server(zone) as dns:
            resolver = f"{dns.address[0]}:{dns.address[1]}"
            env = {k: None for k in os.environ if k.startswith(("PUSHER_", "WSDIAG_"))}
            args = ["check", "fw", "--resolver", resolver, "--timeout", "1", "--json"]
            result, elapsed = timed(CliRunner().invoke, cli, args, None, env)
    assert result.exit_code == 1, result.output
    assert elapsed < 10
    kinds = [r["kind"] for r in json.loads(result.stdout)["results"]]
    assert "tcp_443_blocked" in kinds and "tcp_filtered" in kinds
