"""SOCKS proxy URLs and the SOCKS5/SOCKS4 messages, without a server (wsdiag.socks is pure
but for ``handshake``); the real proxy is in test_socks_cli.py."""

from __future__ import annotations

import socket
import threading

import pytest

from wsdiag.models import ErrorKind
from wsdiag.proxy import ProxyError, ProxySettingError, parse_proxy, proxy_from_environment
from wsdiag.socks import (
    check_method,
    check_socks4_reply,
    check_socks5_reply,
    greeting,
    handshake,
    password_request,
    socks4_request,
    socks5_request,
)


@pytest.mark.parametrize(
    ("url", "scheme", "port", "label"),
    [
        ("socks5://127.0.0.1", "socks5", 1080, "socks5://127.0.0.1:1080"),
        ("SOCKS5H://u:p%40ss@proxy:9050", "socks5h", 9050, "socks5h://u:***@proxy:9050"),
        ("socks4://[::1]:1081", "socks4", 1081, "socks4://[::1]:1081"),
        ("socks4a://proxy", "socks4a", 1080, "socks4a://proxy:1080"),
        ("proxy:3128", "http", 3128, "http://proxy:3128"),
    ],
)
def test_proxy_urls(url: str, scheme: str, port: int, label: str) -> None:
    proxy = parse_proxy(url)
    assert (proxy.scheme, proxy.port, proxy.label) == (scheme, port, label)


def test_password_is_decoded_and_never_in_the_repr() -> None:
    proxy = parse_proxy("socks5h://u:p%40ss@proxy:9050")
    assert proxy.password == "p@ss"
    assert "p@ss" not in repr(proxy)


def test_the_environment_accepts_socks() -> None:
    proxy = proxy_from_environment({"ALL_PROXY": "socks5h://proxy:1080"})
    assert proxy is not None
    assert (proxy.scheme, proxy.source) == ("socks5h", "ALL_PROXY")


def test_an_unknown_scheme_names_its_source_and_hides_the_password() -> None:
    with pytest.raises(ProxySettingError) as caught:
        proxy_from_environment({"HTTPS_PROXY": "socks6://bob:hunter2@proxy"})
    assert str(caught.value).startswith("HTTPS_PROXY='socks6://bob:***@proxy'")


def test_socks5_messages() -> None:
    proxy = parse_proxy("socks5h://ab:cd@proxy")
    assert greeting(proxy) == b"\x05\x02\x00\x02"
    assert greeting(parse_proxy("socks5h://proxy")) == b"\x05\x01\x00"
    assert password_request(proxy) == b"\x01\x02ab\x02cd"
    assert socks5_request("ws.example", 443) == b"\x05\x01\x00\x03\x0aws.example\x01\xbb"
    assert socks5_request("10.0.0.1", 80) == b"\x05\x01\x00\x01\x0a\x00\x00\x01\x00\x50"
    assert socks5_request("::1", 80) == b"\x05\x01\x00\x04" + bytes(15) + b"\x01\x00\x50"


def test_socks4_messages() -> None:
    assert socks4_request("10.0.0.1", 443, "bob") == b"\x04\x01\x01\xbb\x0a\x00\x00\x01bob\x00"
    assert (
        socks4_request("ws.example", 443, "")
        == b"\x04\x01\x01\xbb\x00\x00\x00\x01\x00ws.example\x00"
    )


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (1, ErrorKind.PROXY_UPSTREAM_ERROR),
        (2, ErrorKind.PROXY_DENIED),
        (3, ErrorKind.PROXY_UPSTREAM_ERROR),
        (4, ErrorKind.PROXY_UPSTREAM_ERROR),
        (5, ErrorKind.PROXY_UPSTREAM_ERROR),
        (6, ErrorKind.PROXY_UPSTREAM_ERROR),
        (7, ErrorKind.PROXY_ERROR),
        (8, ErrorKind.PROXY_ERROR),
    ],
)
def test_socks5_reply_codes(code: int, kind: ErrorKind) -> None:
    with pytest.raises(ProxyError) as caught:
        check_socks5_reply(bytes([5, code, 0, 1, 0]), parse_proxy("socks5h://p"), "h", 443)
    assert caught.value.kind is kind
    assert f"SOCKS5 reply {code} (" in caught.value.summary


def test_socks5_success_and_an_address_type_the_proxy_cannot_do() -> None:
    check_socks5_reply(b"\x05\x00\x00\x01\x00", parse_proxy("socks5h://p"), "h", 443)
    with pytest.raises(ProxyError) as caught:
        check_socks5_reply(b"\x05\x08\x00\x01\x00", parse_proxy("socks5h://p"), "h", 443)
    assert "use socks5://" in caught.value.fix


def test_socks4_replies() -> None:
    proxy = parse_proxy("socks4a://p")
    check_socks4_reply(b"\x00\x5a" + bytes(6), proxy, "h", 443)
    with pytest.raises(ProxyError) as caught:
        check_socks4_reply(b"\x00\x5b" + bytes(6), proxy, "h", 443)
    assert caught.value.kind is ErrorKind.PROXY_UPSTREAM_ERROR
    assert "SOCKS4 reply 91 (request rejected or failed)" in caught.value.summary


def test_no_acceptable_method() -> None:
    with pytest.raises(ProxyError) as caught:
        check_method(b"\x05\xff", parse_proxy("socks5://u:p@proxy"))
    assert caught.value.kind is ErrorKind.PROXY_AUTH_REQUIRED
    with pytest.raises(ProxyError) as caught:
        check_method(b"\x05\x02", parse_proxy("socks5://proxy"))  # not offered
    assert caught.value.kind is ErrorKind.PROXY_ERROR


def _scripted(reply: bytes) -> tuple[socket.socket, list[bytes]]:
    """One end of a socket pair whose other end reads the request and answers ``reply``."""
    ours, theirs = socket.socketpair()
    seen: list[bytes] = []

    def serve() -> None:
        with theirs:
            seen.append(theirs.recv(512))
            theirs.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return ours, seen


def test_socks4a_handshake_sends_the_name() -> None:
    sock, seen = _scripted(b"\x00\x5a" + bytes(6))
    with sock:
        handshake(sock, parse_proxy("socks4a://bob@proxy"), "ws.example", 443, 2)
    assert seen == [b"\x04\x01\x01\xbb\x00\x00\x00\x01bob\x00ws.example\x00"]


def test_a_proxy_that_closes_during_the_handshake() -> None:
    sock, _ = _scripted(b"")
    with sock, pytest.raises(ProxyError) as caught:
        handshake(sock, parse_proxy("socks5h://proxy"), "ws.example", 443, 2)
    assert caught.value.summary == "not a SOCKS5 proxy"
    assert "closing the connection" in caught.value.cause
