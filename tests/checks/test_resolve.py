"""The resolve stage against a real DNS server on loopback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.servers.dns import closed_udp_port, dns_server
from wsdiag.checks import CheckOptions
from wsdiag.checks.resolve import (
    addresses_of,
    compare_hint,
    parse_resolver,
    resolve_host,
)
from wsdiag.classify import endpoint_label
from wsdiag.models import ErrorKind, Status

ZONE = {
    "ws-mt1.pusher.com": {
        "A": [("54.1.1.1", 60), ("54.1.1.2", 60)],
        "AAAA": [("2600:1f18::1", 30)],
    },
    "only-a.test": {"A": [("203.0.113.7", 300)]},
    "alias.test": {"CNAME": "middle.test"},
    "middle.test": {"CNAME": "final.test"},
    "final.test": {"A": [("203.0.113.9", 120)]},
    "ws-nosuch.pusher.com": "nxdomain",
    "broken.test": "servfail",
    "nothing.test": "empty",
    "slow.test": "silent",
    "ws-eu.pusher.com": {"A": [("10.0.0.5", 60), ("100.64.1.1", 60)], "AAAA": [("fe80::1", 60)]},
}


@pytest.fixture(scope="module")
def server():
    with dns_server(ZONE) as running:
        yield running


def resolve(server, host: str, *, public: bool = False, timeout: float = 2.0):
    options = CheckOptions(timeout=timeout, resolver=server.address)
    started = time.monotonic()
    result = resolve_host(host, options, public)
    assert time.monotonic() - started < timeout + 1
    return result


def test_ipv4_and_ipv6(server) -> None:
    result = resolve(server, "ws-mt1.pusher.com", public=True)
    assert result.status is Status.OK
    assert result.details["addresses"] == [
        {"address": "54.1.1.1", "family": "ipv4", "ttl": 60},
        {"address": "54.1.1.2", "family": "ipv4", "ttl": 60},
        {"address": "2600:1f18::1", "family": "ipv6", "ttl": 30},
    ]
    assert result.summary.startswith("2 IPv4, 1 IPv6 via 127.0.0.1:")
    # A and AAAA run side by side: one phase, the wall time, not their sum (issue 9).
    assert [p.name for p in result.phases] == ["dns"]
    assert result.elapsed_ms >= max(q["ms"] for q in result.details["queries"])
    assert addresses_of(result) == ["54.1.1.1", "54.1.1.2", "2600:1f18::1"]


def test_only_ipv4_is_fine(server) -> None:
    result = resolve(server, "only-a.test")
    assert result.status is Status.OK
    assert result.summary.startswith("1 IPv4, 0 IPv6")


def test_cname_chain(server) -> None:
    result = resolve(server, "alias.test")
    assert result.details["cname_chain"] == ["middle.test", "final.test"]
    assert "CNAME → final.test" in result.summary
    assert addresses_of(result) == ["203.0.113.9"]


def test_nxdomain_for_a_public_cluster_blames_the_resolver(server) -> None:
    result = resolve(server, "ws-ap2.pusher.com")
    assert result.kind is ErrorKind.DNS_NXDOMAIN
    assert "public Pusher cluster" in result.cause
    assert result.fix


def test_nxdomain_for_an_unknown_cluster_names_it(server) -> None:
    result = resolve(server, "ws-nosuch.pusher.com")
    assert result.kind is ErrorKind.DNS_NXDOMAIN
    assert "no Pusher cluster named 'nosuch'" in result.cause


@pytest.mark.parametrize(
    ("host", "kind"),
    [("broken.test", ErrorKind.DNS_SERVFAIL), ("nothing.test", ErrorKind.DNS_NO_ANSWER)],
)
def test_failures(server, host: str, kind: ErrorKind) -> None:
    result = resolve(server, host)
    assert result.status is Status.FAIL
    assert result.kind is kind
    assert result.cause and result.fix


def test_silent_resolver_times_out_in_bounded_time(server) -> None:
    started = time.monotonic()
    result = resolve(server, "slow.test", timeout=1.0)
    assert result.kind is ErrorKind.DNS_TIMEOUT
    assert time.monotonic() - started < 2.0
    assert "--resolver" in result.fix


def test_silent_resolver_time_is_the_wall_time_not_the_sum(server) -> None:
    started = time.monotonic()
    result = resolve(server, "slow.test", timeout=1.0)
    wall_ms = (time.monotonic() - started) * 1000
    assert [q["ms"] > 900 for q in result.details["queries"]] == [True, True]
    assert result.elapsed_ms <= wall_ms < 1500


def test_closed_port_is_an_unreachable_resolver_at_once() -> None:
    # Issue 9: ICMP port unreachable is an answer. It was a 'silent' resolver after
    # the whole timeout (dnspython's unconnected socket never hears the ICMP).
    port = closed_udp_port()
    options = CheckOptions(timeout=5.0, resolver=("127.0.0.1", port))
    started = time.monotonic()
    result = resolve_host("ws-mt1.pusher.com", options, True)
    assert time.monotonic() - started < 1.0
    assert result.kind is ErrorKind.DNS_RESOLVER_UNREACHABLE
    assert (
        result.summary
        == f"resolver 127.0.0.1:{port} unreachable: nothing listens there (ECONNREFUSED)"
    )
    assert "ICMP port unreachable" in result.cause
    assert "--resolver" in result.fix and f"127.0.0.1:{port}" not in result.fix
    assert [q["rcode"] for q in result.details["queries"]] == ["UNREACHABLE", "UNREACHABLE"]


@pytest.mark.parametrize(
    ("in_use", "hint"),
    [
        (["127.0.0.53"], "compare with --resolver 1.1.1.1"),
        (["1.1.1.1"], "compare with --resolver 9.9.9.9"),
        (["10.0.0.1", "1.1.1.1"], "compare with --resolver 9.9.9.9"),
        (["1.1.1.1", "9.9.9.9", "8.8.8.8"], "compare with another resolver"),
    ],
)
def test_never_suggests_a_resolver_already_asked(in_use: list[str], hint: str) -> None:
    assert compare_hint(in_use) == hint


def test_server_label_brackets_ipv6() -> None:
    assert endpoint_label("1.1.1.1", 53) == "1.1.1.1:53"
    assert endpoint_label("2606:4700:4700::1111", 53) == "[2606:4700:4700::1111]:53"


def test_private_answers_warn_for_a_public_host_only(server) -> None:
    public = resolve(server, "ws-eu.pusher.com", public=True)
    assert public.status is Status.WARN
    assert public.kind is ErrorKind.DNS_PRIVATE_ANSWER
    assert "10.0.0.5" in public.cause and "100.64.1.1" in public.cause and "fe80::1" in public.cause
    assert resolve(server, "ws-eu.pusher.com", public=False).status is Status.OK


def test_ip_literal_sends_no_query(server) -> None:
    before = len(server.queries)
    result = resolve(server, "192.0.2.10")
    assert result.status is Status.OK and addresses_of(result) == ["192.0.2.10"]
    assert len(server.queries) == before


def test_no_resolver_configured(tmp_path: Path) -> None:
    empty = tmp_path / "resolv.conf"
    empty.write_text("# nothing here\n")
    result = resolve_host("example.test", CheckOptions(timeout=1), resolv_conf=str(empty))
    assert result.kind is ErrorKind.DNS_NO_RESOLVER
    assert result.fix


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("1.1.1.1", ("1.1.1.1", 53)),
        ("1.1.1.1:5353", ("1.1.1.1", 5353)),
        ("::1", ("::1", 53)),
        ("[::1]:5353", ("::1", 5353)),
        (" 9.9.9.9 ", ("9.9.9.9", 53)),
    ],
)
def test_parse_resolver(text: str, parsed: tuple[str, int]) -> None:
    assert parse_resolver(text) == parsed


@pytest.mark.parametrize("text", ["dns.google", "1.1.1.1:0", "1.1.1.1:99999", "[::1", "", "1.1.1"])
def test_parse_resolver_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_resolver(text)
