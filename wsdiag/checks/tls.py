"""The ``tls`` stage: handshake with SNI, negotiated parameters and the whole certificate chain.

Verified against the CAs ``wsdiag.trust`` picks (``--ca-bundle``, SSL_CERT_FILE…).
When verification fails we shake hands a second time with verification off,
only to read the chain, so the failure can name the issuer and the dates; that
second handshake never turns a failure into success.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from wsdiag.checks import CheckOptions, dial_stage
from wsdiag.classify import classify_dial, classify_tls, endpoint_label
from wsdiag.dialer import DialError
from wsdiag.models import ErrorKind, Stage, StageResult, Status, Stopwatch
from wsdiag.target import Endpoint
from wsdiag.transport import tls_context
from wsdiag.trust import ca_source

EXPIRY_WARNING_DAYS = 14


def _name(parts: Any) -> str:
    """``((('commonName', 'x'),), …)`` → ``CN=x, O=y``."""
    short = {
        "commonName": "CN",
        "organizationName": "O",
        "organizationalUnitName": "OU",
        "countryName": "C",
        "localityName": "L",
        "stateOrProvinceName": "ST",
    }
    return ", ".join(f"{short.get(k, k)}={v}" for rdn in parts or () for k, v in rdn)


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(text), UTC)


def describe_certificate(info: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """A certificate as getpeercert()/get_info() gives it → what a user reads."""
    now = now or datetime.now(UTC)
    not_before, not_after = _when(info.get("notBefore")), _when(info.get("notAfter"))
    return {
        "subject": _name(info.get("subject")),
        "issuer": _name(info.get("issuer")),
        "sans": [v for k, v in info.get("subjectAltName", ()) if k in ("DNS", "IP Address")],
        "not_before": not_before.isoformat() if not_before else None,
        "not_after": not_after.isoformat() if not_after else None,
        "days_left": (not_after - now).days if not_after else None,
    }


def _chain(sock: ssl.SSLSocket, verified: bool) -> list[dict[str, Any]]:
    sslobj: Any = getattr(sock, "_sslobj", None)
    getter = getattr(sslobj, "get_verified_chain" if verified else "get_unverified_chain", None)
    try:
        certs = getter() if getter else None
    except (ssl.SSLError, ValueError):
        certs = None
    if certs:
        return [describe_certificate(c.get_info()) for c in certs]
    leaf = sock.getpeercert()  # older runtimes: the leaf only
    return [describe_certificate(dict(leaf))] if leaf else []


def handshake_tls(endpoint: Endpoint, address: str, options: CheckOptions) -> StageResult:
    label = endpoint_label(address, endpoint.port)
    subject = label if endpoint.host == address else f"{endpoint.host} {label}"
    details: dict[str, Any] = {
        "sni": endpoint.host,
        "ca_bundle": ca_source(options.ca_bundle).label,  # where the trusted CAs came from
        "verified": False,
        "chain": [],
    }
    watch = Stopwatch()

    def result(
        status: Status,
        summary: str,
        kind: ErrorKind | None = None,
        cause: str | None = None,
        fix: str | None = None,
    ) -> StageResult:
        return StageResult(
            Stage.TLS, subject, status, summary, kind, cause, fix, details, watch.frozen()
        )

    context = tls_context(options.ca_bundle, options.verify_tls)
    try:
        conn = dial_stage(
            endpoint.host, endpoint.port, options, addresses=[address], watch=watch, tls=context
        )
    except DialError as err:
        if err.phase != "tls":
            found = classify_dial(err, endpoint.host, endpoint.port, options.timeout)
            return result(Status.FAIL, found.summary, found.kind, found.cause, found.fix)
        chain: list[dict[str, Any]] = []
        spoken = ""
        if isinstance(err.error, ssl.SSLCertVerificationError):
            chain = details["chain"] = _unverified_chain(endpoint, address, options)
        elif classify_tls(err.error, endpoint.host, "", options.timeout).kind is (
            ErrorKind.TLS_NOT_TLS
        ):
            spoken = _peek_plaintext(endpoint, address, options)
        where = str(endpoint)
        found = classify_tls(err.error, endpoint.host, where, options.timeout, chain, spoken)
        return result(Status.FAIL, found.summary, found.kind, found.cause, found.fix)
    tls_sock = conn.sock
    assert isinstance(tls_sock, ssl.SSLSocket)
    with tls_sock:
        details.update(
            version=tls_sock.version(),
            cipher=(tls_sock.cipher() or ("",))[0],
            alpn=tls_sock.selected_alpn_protocol(),
            verified=options.verify_tls,
            chain=_chain(tls_sock, verified=options.verify_tls),
        )
    return _success(result, details, options)


def _success(
    result: Callable[..., StageResult], details: dict[str, Any], options: CheckOptions
) -> StageResult:
    leaf = details["chain"][0] if details["chain"] else {}
    days = leaf.get("days_left")
    summary = f"{details['version']} {details['cipher']}" + (
        f", certificate valid {days} more days" if days is not None else ""
    )
    if not options.verify_tls:
        return result(
            Status.WARN,
            summary + " — NOT VERIFIED (--insecure)",
            ErrorKind.TLS_VERIFY_DISABLED,
            "certificate verification was turned off with --insecure: nothing about "
            "the certificate was checked, a TLS-inspecting proxy would look the same",
            "drop --insecure; for a private CA use --ca-bundle FILE instead",
        )
    if days is not None and days < EXPIRY_WARNING_DAYS:
        return result(
            Status.WARN,
            summary,
            ErrorKind.TLS_EXPIRES_SOON,
            f"the certificate expires in {days} day(s) ({leaf.get('not_after')})",
            "renew the certificate now (check the ACME/certbot renewal job)",
        )
    return result(Status.OK, summary)


def _redial(
    endpoint: Endpoint, address: str, options: CheckOptions, tls: ssl.SSLContext | None
) -> socket.socket:
    """A second connection to the same address (or through the same proxy)."""
    return dial_stage(endpoint.host, endpoint.port, options, addresses=[address], tls=tls).sock


def _unverified_chain(
    endpoint: Endpoint, address: str, options: CheckOptions
) -> list[dict[str, Any]]:
    """Read the chain without verifying it, only to explain a verification failure."""
    try:
        with _redial(endpoint, address, options, tls_context(verify=False)) as tls_sock:
            assert isinstance(tls_sock, ssl.SSLSocket)
            return _chain(tls_sock, verified=False)
    except DialError:
        return []


def _peek_plaintext(endpoint: Endpoint, address: str, options: CheckOptions) -> str:
    """What the port says to a plain HTTP request, to name the protocol it speaks."""
    try:
        with _redial(endpoint, address, options, None) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            first = sock.recv(64).decode("latin-1").splitlines()
            return first[0] if first else ""
    except (DialError, OSError, IndexError):
        return ""
