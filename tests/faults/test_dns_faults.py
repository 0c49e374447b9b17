"""DNS faults through `wsdiag check`, asked of a real DNS server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import expect, run_wsdiag
from tests.servers.dns import DnsServer, dns_server

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
