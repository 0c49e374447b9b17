"""The one classifier, table by table: exceptions in, kind + cause + fix out. No sockets."""

from __future__ import annotations

import errno
import socket
import ssl

import pytest

from wsdiag.classify import (
    classify_api_status,
    classify_connect_error,
    classify_dial,
    classify_tls,
    classify_upgrade_status,
    tls_verify_kind,
)
from wsdiag.dialer import Attempt, DialError
from wsdiag.models import ErrorKind
from wsdiag.proxy import ProxyError


def verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    exc.verify_code = code
    exc.verify_message = message
    return exc


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), ErrorKind.TCP_REFUSED),
        (ConnectionResetError(errno.ECONNRESET, "reset"), ErrorKind.TCP_RESET),
        (OSError(errno.EACCES, "prohibited"), ErrorKind.TCP_UNREACHABLE),
        (OSError(errno.EPERM, "local firewall"), ErrorKind.TCP_FILTERED),
        (TimeoutError("timed out"), ErrorKind.TCP_FILTERED),  # 127.0.0.1 has a route
        (OSError(errno.EHOSTUNREACH, "no host"), ErrorKind.TCP_UNREACHABLE),
    ],
)
def test_connect_errors(exc: BaseException, kind: ErrorKind) -> None:
    found, cause, fix = classify_connect_error(exc, "127.0.0.1", 443, 5.0)
    assert found is kind
    assert "127.0.0.1:443" in cause
    assert fix


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        (10, "certificate has expired", ErrorKind.TLS_EXPIRED),
        (9, "certificate is not yet valid", ErrorKind.TLS_NOT_YET_VALID),
        (
            62,
            "Hostname mismatch, certificate is not valid for 'x'.",
            ErrorKind.TLS_HOSTNAME_MISMATCH,
        ),
        (64, "IP address mismatch", ErrorKind.TLS_HOSTNAME_MISMATCH),
        (20, "unable to get local issuer certificate", ErrorKind.TLS_UNTRUSTED_ISSUER),
        (19, "self-signed certificate in certificate chain", ErrorKind.TLS_UNTRUSTED_ISSUER),
        (0, "certificate has expired", ErrorKind.TLS_EXPIRED),  # no code: read the message
    ],
)
def test_verify_codes(code: int, message: str, kind: ErrorKind) -> None:
    assert tls_verify_kind(verify_error(code, message)) is kind


def test_an_expired_certificate_without_the_chain_says_where_the_dates_are() -> None:
    found = classify_tls(verify_error(10, "certificate has expired"), "h", "h:443", 5.0)
    assert found.kind is ErrorKind.TLS_EXPIRED
    assert "?" not in found.cause
    assert "wsdiag tls" in found.cause


def test_an_expired_certificate_with_the_chain_names_the_date() -> None:
    chain = [{"not_after": "2026-01-01T00:00:00+00:00", "issuer": "CN=ca"}]
    found = classify_tls(verify_error(10, "certificate has expired"), "h", "h:443", 5.0, chain)
    assert "2026-01-01" in found.cause


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (
            ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"),
            ErrorKind.TLS_NOT_TLS,
        ),
        (
            ssl.SSLError(1, "[SSL: RECORD_LAYER_FAILURE] record layer failure"),
            ErrorKind.TLS_NOT_TLS,
        ),
        (ssl.SSLError(1, "[SSL: UNSUPPORTED_PROTOCOL] unsupported"), ErrorKind.TLS_PROTOCOL_ERROR),
        (ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"), ErrorKind.TCP_RESET),
        (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), ErrorKind.TLS_PROTOCOL_ERROR),
        (TimeoutError("timed out"), ErrorKind.TLS_HANDSHAKE_TIMEOUT),
    ],
)
def test_handshake_errors(exc: BaseException, kind: ErrorKind) -> None:
    assert classify_tls(exc, "h", "h:443", 5.0).kind is kind


def test_not_tls_quotes_what_the_port_said() -> None:
    exc = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    found = classify_tls(exc, "h", "h:443", 5.0, spoken="HTTP/1.1 400 Bad Request")
    assert "HTTP/1.1 400 Bad Request" in found.cause


@pytest.mark.parametrize(
    ("error", "kind", "summary"),
    [
        (DialError("dns", TimeoutError("no answer")), ErrorKind.DNS_TIMEOUT, "DNS: no answer"),
        (
            DialError("dns", socket.gaierror(socket.EAI_NONAME, "Name or service not known")),
            ErrorKind.DNS_NXDOMAIN,
            "DNS: name does not resolve",
        ),
        (
            DialError("tunnel", ProxyError(ErrorKind.PROXY_DENIED, "403", "denied", "allow")),
            ErrorKind.PROXY_DENIED,
            "proxy: 403",
        ),
        (
            DialError("tls", verify_error(10, "certificate has expired")),
            ErrorKind.TLS_EXPIRED,
            "certificate expired",
        ),
        (
            DialError("connect", ConnectionRefusedError(errno.ECONNREFUSED, "x"), "127.0.0.1"),
            ErrorKind.TCP_REFUSED,
            "TCP: refused",
        ),
    ],
)
def test_dial_errors_by_phase(error: DialError, kind: ErrorKind, summary: str) -> None:
    found = classify_dial(error, "h", 443, 5.0)
    assert (found.kind, found.summary) == (kind, summary)


def test_a_failed_race_names_every_address_tried() -> None:
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "refused")
    attempts = (Attempt("::1", refused, 0.1), Attempt("127.0.0.1", refused, 0.1))
    found = classify_dial(DialError("connect", refused, "::1", attempts), "h", 443, 5.0)
    assert found.kind is ErrorKind.TCP_REFUSED
    assert "[::1]:443, 127.0.0.1:443" in found.cause


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, '{"error":"Invalid signature"}', ErrorKind.API_UNAUTHORIZED),
        (
            401,
            "Timestamp expired: Given timestamp (1) not within 600s",
            ErrorKind.API_TIMESTAMP_EXPIRED,
        ),
        (400, "bad", ErrorKind.API_BAD_REQUEST),
        (403, "disabled", ErrorKind.API_FORBIDDEN),
        (404, "", ErrorKind.API_NOT_FOUND),
        (413, "", ErrorKind.API_TOO_LARGE),
        (503, "", ErrorKind.API_SERVER_ERROR),
        (418, "", ErrorKind.API_UNEXPECTED_STATUS),
    ],
)
def test_api_statuses(status: int, body: str, kind: ErrorKind) -> None:
    found = classify_api_status(
        status, body, key="k", masked_secret="sec…", app_id="42", skew_s=-700.0
    )
    assert found.kind is kind
    assert found.cause and found.fix
    if kind is ErrorKind.API_NOT_FOUND:
        assert "'42'" in found.cause  # the app id asked for
    if kind is ErrorKind.API_TIMESTAMP_EXPIRED:
        assert "-700 s" in found.cause  # the skew measured from the Date header


@pytest.mark.parametrize(
    ("status", "html", "words"),
    [
        (400, False, "bad request"),
        (404, False, "wsdiag asked for /prefix/app/k"),
        (426, False, "Upgrade Required"),
        (200, True, "captive portal"),
        (200, False, "not a WebSocket server"),
        (599, False, "HTTP 599"),
    ],
)
def test_upgrade_statuses(status: int, html: bool, words: str) -> None:
    found = classify_upgrade_status(status, html=html, path="/prefix/app/k")
    assert found.kind is ErrorKind.WS_UPGRADE_REJECTED
    assert words in found.cause
