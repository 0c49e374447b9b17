"""The dialer on loopback: Happy Eyeballs order, the race, phases, and failures as DialError."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from wsdiag.dialer import DialError, dial, happy_eyeballs, interleave
from wsdiag.models import Stopwatch


@pytest.fixture
def ipv4_only_port() -> Iterator[int]:
    """A port listening on 127.0.0.1 only: [::1] refuses it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def test_interleave_alternates_families_starting_with_the_first() -> None:
    assert interleave(["::1", "::2", "10.0.0.1", "10.0.0.2", "::3"]) == [
        "::1",
        "10.0.0.1",
        "::2",
        "10.0.0.2",
        "::3",
    ]
    assert interleave(["10.0.0.1", "::1"]) == ["10.0.0.1", "::1"]
    assert interleave([]) == []


def test_the_race_connects_where_it_can(ipv4_only_port: int) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python")
    conn = happy_eyeballs(["::1", "127.0.0.1"], ipv4_only_port, 2.0)
    try:
        assert conn.address == "127.0.0.1"
        assert [a.address for a in conn.attempts] == ["::1", "127.0.0.1"]
        assert isinstance(conn.attempts[0].error, ConnectionRefusedError)
        assert conn.attempts[1].error is None
        assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        conn.close()


def test_every_address_refused_is_one_dial_error(ipv4_only_port: int) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening
        port = int(closed.getsockname()[1])
        with pytest.raises(DialError) as failed:
            happy_eyeballs(["::1", "127.0.0.1"], port, 2.0)
    assert failed.value.phase == "connect"
    assert isinstance(failed.value.error, ConnectionRefusedError)
    assert len(failed.value.attempts) == 2


def test_dial_records_phases(ipv4_only_port: int) -> None:
    watch = Stopwatch()
    conn = dial("localhost", ipv4_only_port, timeout=2.0, watch=watch)
    conn.close()
    assert [p.name for p in watch.frozen()] == ["dns", "connect"]


def test_a_name_that_does_not_resolve_fails_in_dns() -> None:
    with pytest.raises(DialError) as failed:
        dial("name.does-not-exist.invalid", 443, timeout=2.0, watch=Stopwatch())
    assert failed.value.phase == "dns"


def test_a_host_with_other_letters_is_sent_as_idna() -> None:
    from wsdiag.exchange import request_bytes
    from wsdiag.target import Endpoint

    head = request_bytes(Endpoint("bücher.example", 443, True), "GET", "/", None)
    assert b"\r\nHost: xn--bcher-kva.example\r\n" in head
