"""TCP faults through `wsdiag check`: closed ports and real iptables rules in a namespace."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.faults.harness import expect, run_json
from tests.servers.dns import dns_server
from tests.servers.netns import Rule, firewalled_host
from tests.servers.tls import NAME, tls_server

TIMEOUT = 1.0
# ICMP rejects on a veth pair surface at the first SYN retransmission, ~1 s in
# (tests/servers/netns.py); a longer timeout shows they end well before it.
ICMP_TIMEOUT = 3.0


def test_refused(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: the kernel answers RST
        port = closed.getsockname()[1]
        outcome = run_json("check", f"ws://127.0.0.1:{port}", timeout=TIMEOUT, home=tmp_path)
    expect("tcp.refused", outcome, within=TIMEOUT)


@pytest.mark.netns
@pytest.mark.parametrize(
    ("fault", "rule", "timeout", "family"),
    [
        ("tcp.filtered", "drop", TIMEOUT, "ipv4"),
        ("tcp.filtered", "drop", TIMEOUT, "ipv6"),
        ("tcp.unreachable", "unreachable", ICMP_TIMEOUT, "ipv4"),
        ("tcp.unreachable", "unreachable", ICMP_TIMEOUT, "ipv6"),
    ],
)
def test_firewall_rules(
    tmp_path: Path, fault: str, rule: Rule, timeout: float, family: str
) -> None:
    with firewalled_host([6001], {6001: rule}) as host:
        address = host.ipv4 if family == "ipv4" else f"[{host.ipv6}]"
        outcome = run_json("check", f"ws://{address}:6001", timeout=timeout, home=tmp_path)
    expect(fault, outcome, within=timeout)
    if fault == "tcp.unreachable":
        assert outcome.elapsed < timeout, "an ICMP reject must not wait for the timeout"


@pytest.mark.netns
def test_443_blocked_while_80_is_open(tmp_path: Path) -> None:
    with firewalled_host([80, 443], {443: "drop"}) as host:
        zone = {f"{p}-fw.pusher.com": {"A": [(host.ipv4, 60)]} for p in ("ws", "api", "sockjs")}
        with dns_server(zone) as dns:
            resolver = f"{dns.address[0]}:{dns.address[1]}"
            outcome = run_json(
                "check", "fw", "--resolver", resolver, timeout=TIMEOUT, home=tmp_path
            )
    record = expect("tcp.443_blocked", outcome, within=TIMEOUT)
    assert "forceTLS" in record["fix"]


def test_reset_during_the_tls_handshake(tmp_path: Path) -> None:
    with (
        tls_server(tmp_path, "reset") as server,
        dns_server({NAME: {"A": [("127.0.0.1", 60)]}}) as dns,
    ):
        outcome = run_json(
            "check",
            f"wss://{NAME}:{server.port}",
            "--resolver",
            f"{dns.address[0]}:{dns.address[1]}",
            "--ca-bundle",
            server.ca_bundle,
            timeout=TIMEOUT,
            home=tmp_path,
        )
    record = expect("tcp.reset_in_tls", outcome, within=TIMEOUT)
    assert record["stage"] == "tls"
