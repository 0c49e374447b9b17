"""The tls stage against real TLS servers with trustme certificates."""

from __future__ import annotations

import time
from pathlib import Path

from tests.servers.tls import NAME, days_from_now, tls_server
from wsdiag.checks import CheckOptions
from wsdiag.checks.tls import handshake_tls
from wsdiag.models import ErrorKind, StageResult, Status
from wsdiag.target import Endpoint


def check(
    port: int, bundle: str | None, *, name: str = NAME, timeout: float = 2.0, verify: bool = True
) -> StageResult:
    options = CheckOptions(timeout=timeout, ca_bundle=bundle, verify_tls=verify)
    started = time.monotonic()
    result = handshake_tls(Endpoint(name, port, True), "127.0.0.1", options)
    assert time.monotonic() - started < timeout * 2 + 1  # a failure may shake hands twice
    return result


def explained(result: StageResult) -> bool:
    return bool(result.cause and result.fix)


def test_good_certificate(tmp_path: Path) -> None:
    with tls_server(tmp_path, "tls", NAME, "other.wsdiag.invalid") as server:
        result = check(server.port, server.ca_bundle)
    assert result.status is Status.OK, result
    details = result.details
    assert details["version"] in ("TLSv1.2", "TLSv1.3")
    assert details["alpn"] == "http/1.1"
    assert details["sni"] == NAME
    assert details["verified"] is True
    leaf, root = details["chain"][0], details["chain"][-1]
    assert len(details["chain"]) == 2  # the whole chain, not only the leaf
    assert leaf["sans"] == [NAME, "other.wsdiag.invalid"]
    assert leaf["issuer"] == root["subject"]
    assert leaf["days_left"] > 1000
    assert [p.name for p in result.phases] == ["connect", "tls"]


def test_expired(tmp_path: Path) -> None:
    with tls_server(
        tmp_path, "tls", not_before=days_from_now(-30), not_after=days_from_now(-2)
    ) as s:
        result = check(s.port, s.ca_bundle)
    assert result.kind is ErrorKind.TLS_EXPIRED
    assert "clock" in result.cause and explained(result)
    assert result.details["chain"][0]["days_left"] < 0


def test_not_yet_valid(tmp_path: Path) -> None:
    with tls_server(tmp_path, "tls", not_before=days_from_now(3), not_after=days_from_now(90)) as s:
        result = check(s.port, s.ca_bundle)
    assert result.kind is ErrorKind.TLS_NOT_YET_VALID
    assert explained(result)


def test_expires_soon_is_a_warning(tmp_path: Path) -> None:
    with tls_server(
        tmp_path, "tls", not_before=days_from_now(-80), not_after=days_from_now(5)
    ) as s:
        result = check(s.port, s.ca_bundle)
    assert result.status is Status.WARN
    assert result.kind is ErrorKind.TLS_EXPIRES_SOON
    assert explained(result)


def test_wrong_name(tmp_path: Path) -> None:
    with tls_server(tmp_path, "tls", "somewhere-else.invalid") as server:
        result = check(server.port, server.ca_bundle)
    assert result.kind is ErrorKind.TLS_HOSTNAME_MISMATCH
    assert "somewhere-else.invalid" in result.cause
    assert explained(result)


def test_unknown_ca_names_the_issuer(tmp_path: Path) -> None:
    with tls_server(tmp_path, "tls", trusted_ca=False) as server:
        result = check(server.port, server.ca_bundle)
    assert result.kind is ErrorKind.TLS_UNTRUSTED_ISSUER
    assert "trustme" in result.summary  # the issuer, read from the unverified chain
    assert "inspection" in result.cause
    assert "--ca-bundle" in result.fix
    assert result.details["verified"] is False


def test_certifi_does_not_trust_a_private_ca(tmp_path: Path) -> None:
    with tls_server(tmp_path, "tls") as server:
        result = check(server.port, None)
    assert result.kind is ErrorKind.TLS_UNTRUSTED_ISSUER
    assert result.details["ca_bundle"] == "certifi"


def test_insecure_is_a_loud_warning(tmp_path: Path) -> None:
    with tls_server(tmp_path, "tls", trusted_ca=False) as server:
        result = check(server.port, None, verify=False)
    assert result.status is Status.WARN
    assert result.kind is ErrorKind.TLS_VERIFY_DISABLED
    assert "NOT VERIFIED" in result.summary
    assert result.details["chain"]  # still shown


def test_handshake_never_answered(tmp_path: Path) -> None:
    with tls_server(tmp_path, "silent") as server:
        result = check(server.port, server.ca_bundle, timeout=1.0)
    assert result.kind is ErrorKind.TLS_HANDSHAKE_TIMEOUT
    assert explained(result)


def test_plaintext_on_the_tls_port(tmp_path: Path) -> None:
    with tls_server(tmp_path, "plaintext") as server:
        result = check(server.port, server.ca_bundle)
    assert result.kind is ErrorKind.TLS_NOT_TLS
    assert "HTTP/1.1 400" in result.cause
    assert explained(result)


def test_tls10_only_server(tmp_path: Path) -> None:
    with tls_server(tmp_path, "tls", tls10_only=True) as server:
        result = check(server.port, server.ca_bundle)
    assert result.kind is ErrorKind.TLS_PROTOCOL_ERROR
    assert "TLS 1.0" in result.cause
    assert explained(result)


def test_reset_during_handshake(tmp_path: Path) -> None:
    with tls_server(tmp_path, "reset") as server:
        result = check(server.port, server.ca_bundle)
    assert result.kind is ErrorKind.TCP_RESET  # a TCP RST, as SNI-filtering firewalls send
    assert "cut during the TLS handshake" in result.cause


def test_tcp_failure_is_reported_as_tcp() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        result = check(sock.getsockname()[1], None)
    assert result.kind is ErrorKind.TCP_REFUSED
