"""DNS faults through `wsdiag check`, asked of a real DNS server on loopback.

Resolvers that cannot be reached are made for real too: a loopback UDP port
nothing listens on (ICMP port unreachable), and a network namespace without a
default route, whose own /etc/resolv.conf (``/etc/netns/NAME/resolv.conf``,
which ``ip netns exec`` mounts) names the system resolver wsdiag falls back to.
"""

from __future__ import annotations

import contextlib
import errno
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Outcome, expect, run_wsdiag, startup_s, user_environment
from tests.servers.dns import DnsServer, closed_udp_port, dns_server
from tests.servers.netns import ClientNamespace, client_namespace

TIMEOUT = 1.0
ZONE = {
    "gone.wsdiag.test": "nxdomain",
    "broken.wsdiag.test": "servfail",
    "nothing.wsdiag.test": "empty",
    "slow.wsdiag.test": "silent",
    # A public cluster's name answered with this machine's loopback: what a
    # hijacking resolver or a hosts-file leftover does.
    "ws-mt1.pusher.com": {"A": [("127.0.0.1", 60)]},
    "sockjs-mt1.pusher.com": {"A": [("127.0.0.1", 60)]},
    "api-mt1.pusher.com": {"A": [("127.0.0.1", 60)]},
}


@pytest.fixture(scope="module")
def resolver() -> Iterator[DnsServer]:
    with dns_server(ZONE) as server:
        yield server


def check(resolver: DnsServer, target: str, home: Path) -> object:
    host, port = resolver.address
    return run_wsdiag(
        "check",
        target,
        "--resolver",
        f"{host}:{port}",
        "--timeout",
        str(TIMEOUT),
        "--json",
        home=home,
    )


@pytest.mark.parametrize(
    ("fault", "host"),
    [
        ("dns.nxdomain", "gone.wsdiag.test"),
        ("dns.servfail", "broken.wsdiag.test"),
        ("dns.no_answer", "nothing.wsdiag.test"),
        ("dns.silent", "slow.wsdiag.test"),
    ],
)
def test_resolver_faults(resolver: DnsServer, tmp_path: Path, fault: str, host: str) -> None:
    outcome = check(resolver, f"wss://{host}", tmp_path)
    record = expect(fault, outcome, within=TIMEOUT)
    assert record["subject"] == host
    assert resolver.queries, "the test resolver was never asked"


def test_loopback_answer_for_a_public_cluster(resolver: DnsServer, tmp_path: Path) -> None:
    outcome = check(resolver, "mt1", tmp_path)
    # The warning comes with the name; then the probes meet this machine's closed ports.
    expect("dns.private", outcome, within=TIMEOUT)
    assert "127.0.0.1" in outcome.stdout


CLUSTER_HOSTS = ("ws-mt1.pusher.com", "api-mt1.pusher.com", "sockjs-mt1.pusher.com")
SILENT_CLUSTER = dict.fromkeys(CLUSTER_HOSTS, "silent")


def resolve_records(outcome: Outcome) -> list[dict[str, object]]:
    return [r for r in outcome.report()["results"] if r["stage"] == "resolve"]


def test_closed_resolver_port_is_unreachable_not_silent(tmp_path: Path) -> None:
    # Issue 9: nothing listens there, the kernel says so at once (ICMP port
    # unreachable): not a timeout, not SERVFAIL. A long timeout shows it is not waited.
    port = closed_udp_port()
    outcome = run_wsdiag(
        "check",
        "mt1",
        "--resolver",
        f"127.0.0.1:{port}",
        "--timeout",
        "5",
        "--json",
        home=tmp_path,
    )
    record = expect("dns.resolver_unreachable", outcome, within=5)
    assert outcome.elapsed < 2.5 + startup_s(), outcome.describe()
    assert f"127.0.0.1:{port}" in record["summary"] and "ECONNREFUSED" in record["summary"]
    assert record["details"]["unreachable"] == [
        {"resolver": f"127.0.0.1:{port}", "errno": "ECONNREFUSED", "error": "Connection refused"}
    ]
    assert f"--resolver 127.0.0.1:{port}" not in record["fix"]
    assert {r["kind"] for r in resolve_records(outcome)} == {"dns_resolver_unreachable"}


def test_silent_resolver_costs_one_timeout_for_all_hosts(tmp_path: Path) -> None:
    # Issue 9: the three hosts of a cluster were asked one after another (15.5 s at
    # --timeout 5), and a record's time summed A and AAAA, which run side by side.
    timeout = 2.0
    with dns_server(SILENT_CLUSTER) as silent:
        host, port = silent.address
        outcome = run_wsdiag(
            "check",
            "mt1",
            "--resolver",
            f"{host}:{port}",
            "--timeout",
            str(timeout),
            "--json",
            home=tmp_path,
        )
    expect("dns.silent", outcome, within=timeout)
    records = resolve_records(outcome)
    assert [r["subject"] for r in records] == list(CLUSTER_HOSTS)
    assert {q for name, q in silent.queries} == {"A", "AAAA"}
    for record in outcome.report()["results"]:
        assert record["elapsed_ms"] <= outcome.elapsed * 1000, outcome.describe()
    for record in records:
        assert record["elapsed_ms"] < (timeout + 0.5) * 1000, outcome.describe()
        assert [p["name"] for p in record["phases"]] == ["dns"]


@contextlib.contextmanager
def routeless_machine() -> Iterator[ClientNamespace]:
    """A machine with no default route (IPv4 to this one only, no IPv6)."""
    with client_namespace("none") as machine:
        etc = Path("/etc/netns") / machine.name
        etc.mkdir(parents=True)
        try:
            yield machine
        finally:
            (etc / "resolv.conf").unlink(missing_ok=True)
            etc.rmdir()


def use_system_resolver(machine: ClientNamespace, address: str) -> None:
    """The machine's /etc/resolv.conf: ``ip netns exec`` mounts /etc/netns/NAME/ over /etc."""
    (Path("/etc/netns") / machine.name / "resolv.conf").write_text(f"nameserver {address}\n")


def run_wsdiag_on(machine: ClientNamespace, *args: str, home: Path) -> Outcome:
    """``run_wsdiag``, but the process lives in the machine's namespace."""
    started = time.monotonic()
    done = subprocess.run(
        ["ip", "netns", "exec", machine.name, sys.executable, "-m", "wsdiag", *args],
        capture_output=True,
        text=True,
        env=user_environment(home),
        timeout=60,
        check=False,
    )
    return Outcome(
        tuple(args), done.returncode, done.stdout, done.stderr, time.monotonic() - started
    )


@pytest.mark.netns
@pytest.mark.parametrize(
    ("resolver", "label"),
    [("1.1.1.1", "1.1.1.1:53"), ("2606:4700:4700::1111", "[2606:4700:4700::1111]:53")],
)
def test_resolver_without_a_route(tmp_path: Path, resolver: str, label: str) -> None:
    # Issue 9's own command: ENETUNREACH was reported as SERVFAIL, and the fix said
    # "compare with --resolver 1.1.1.1" to someone using 1.1.1.1.
    with routeless_machine() as machine:
        outcome = run_wsdiag_on(
            machine,
            "resolve",
            "mt1",
            "--resolver",
            resolver,
            "--timeout",
            "5",
            "--json",
            home=tmp_path,
        )
    record = expect("dns.resolver_unreachable", outcome, within=1)
    assert record["summary"] == f"resolver {label} unreachable: no route to it (ENETUNREACH)"
    assert f"--resolver {resolver}" not in record["fix"]
    assert "leave --resolver out" in record["fix"]


@pytest.mark.netns
def test_system_resolver_without_a_route_suggests_another(tmp_path: Path) -> None:
    with routeless_machine() as machine:
        use_system_resolver(machine, "1.1.1.1")
        outcome = run_wsdiag_on(machine, "check", "mt1", "--timeout", "5", "--json", home=tmp_path)
    record = expect("dns.resolver_unreachable", outcome, within=1)
    assert "1.1.1.1:53" in record["summary"] and "ENETUNREACH" in record["cause"]
    assert "--resolver 1.1.1.1" not in record["fix"]
    assert "--resolver 9.9.9.9" in record["fix"]


@pytest.mark.netns
def test_silent_system_resolver_costs_one_timeout(tmp_path: Path) -> None:
    # wsdiag also asks the system (getaddrinfo) beside DNS; that wait came on top.
    timeout = 2.0
    with routeless_machine() as machine:
        use_system_resolver(machine, machine.server_ipv4)
        try:
            with dns_server(SILENT_CLUSTER, host=machine.server_ipv4, port=53) as silent:
                outcome = run_wsdiag_on(
                    machine, "check", "mt1", "--timeout", str(timeout), "--json", home=tmp_path
                )
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            pytest.skip(f"UDP port 53 is taken here, even on {machine.server_ipv4}: {exc}")
    expect("dns.silent", outcome, within=timeout)
    assert silent.queries, "the machine's resolver was never asked"
    for record in resolve_records(outcome):
        assert record["elapsed_ms"] < (timeout + 0.5) * 1000, outcome.describe()
