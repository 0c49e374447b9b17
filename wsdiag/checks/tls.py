"""The ``tls`` stage: handshake with SNI, negotiated parameters and the whole certificate chain.

Verified against certifi (or ``--ca-bundle``). When verification fails we
shake hands a second time with verification off, only to read the chain, so
the failure can name the issuer and the dates; that second handshake never
turns a failure into success.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from wsdiag.checks import CheckOptions
from wsdiag.checks.reach import connect_failure, endpoint_label
from wsdiag.models import ErrorKind, Stage, StageResult, Status, Stopwatch
from wsdiag.target import Endpoint
from wsdiag.transport import connect_to, tls_context, wrap_tls

EXPIRY_WARNING_DAYS = 14
_NOT_TLS_MARKERS = (
    "WRONG_VERSION_NUMBER",
    "HTTP_REQUEST",
    "RECORD_LAYER",
    "PACKET_LENGTH_TOO_LONG",
    "UNKNOWN_PROTOCOL",
)
_VERSION_MARKERS = (
    "UNSUPPORTED_PROTOCOL",
    "NO_PROTOCOLS_AVAILABLE",
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "VERSION_TOO_LOW",
    "NO_SUPPORTED_VERSIONS",
)


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
        "ca_bundle": options.ca_bundle or "certifi",
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

    try:
        with watch.phase("connect"):
            sock = connect_to(endpoint.host, address, endpoint.port, options.timeout, options.proxy)
    except OSError as exc:
        return result(Status.FAIL, *connect_failure(exc, address, endpoint.port, options.timeout))
    context = tls_context(options.ca_bundle, options.verify_tls)
    try:
        with watch.phase("handshake"):
            tls_sock = wrap_tls(sock, endpoint.host, context, options.timeout)
    except ssl.SSLCertVerificationError as exc:
        sock.close()
        details["chain"] = _unverified_chain(endpoint, address, options)
        return result(Status.FAIL, *_verify_failure(exc, endpoint, details["chain"]))
    except TimeoutError:
        sock.close()
        return result(
            Status.FAIL,
            f"no handshake reply within {options.timeout:g} s",
            ErrorKind.TLS_HANDSHAKE_TIMEOUT,
            "the server accepted TCP but never answered the TLS ClientHello: not a TLS "
            "port, an overloaded server, or a middlebox holding the connection",
            "check that this port serves TLS; compare from another network",
        )
    except (ssl.SSLError, OSError) as exc:
        sock.close()
        return result(Status.FAIL, *_handshake_failure(exc, endpoint, address, options))
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


def _unverified_chain(
    endpoint: Endpoint, address: str, options: CheckOptions
) -> list[dict[str, Any]]:
    """Read the chain without verifying it, only to explain a verification failure."""
    try:
        sock = connect_to(endpoint.host, address, endpoint.port, options.timeout, options.proxy)
        with wrap_tls(sock, endpoint.host, tls_context(verify=False), options.timeout) as tls_sock:
            return _chain(tls_sock, verified=False)
    except (OSError, ssl.SSLError):
        return []


def _verify_failure(
    exc: ssl.SSLCertVerificationError, endpoint: Endpoint, chain: list[dict[str, Any]]
) -> tuple[str, ErrorKind, str, str]:
    message = exc.verify_message or str(exc)
    lowered = message.lower()
    leaf = chain[0] if chain else {}
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    if "expired" in lowered:
        return (
            f"certificate expired {leaf.get('not_after') or ''}".strip(),
            ErrorKind.TLS_EXPIRED,
            f"the server's certificate expired on {leaf.get('not_after', '?')} (this machine's "
            f"clock says {now}; a wrong clock causes this too)",
            "renew the server's certificate; if it is valid, correct this machine's clock",
        )
    if "not yet valid" in lowered:
        return (
            "certificate not yet valid",
            ErrorKind.TLS_NOT_YET_VALID,
            f"the certificate is valid only from {leaf.get('not_before', '?')} and this "
            f"machine's clock says {now}: usually this clock is behind",
            "sync this machine's clock (timedatectl set-ntp true)",
        )
    if "hostname" in lowered or "ip address mismatch" in lowered:
        names = ", ".join(leaf.get("sans") or []) or leaf.get("subject", "?")
        return (
            f"certificate is not for {endpoint.host}",
            ErrorKind.TLS_HOSTNAME_MISMATCH,
            f"the certificate covers {names}, not {endpoint.host}",
            "connect with the name the certificate was issued for, or reissue it to include "
            f"{endpoint.host} (behind a load balancer: check which certificate it serves)",
        )
    issuer = (chain[-1] if chain else {}).get("issuer") or leaf.get("issuer") or "unknown"
    return (
        f"untrusted issuer: {issuer}",
        ErrorKind.TLS_UNTRUSTED_ISSUER,
        f"the chain ends at {issuer!r}, which the CA bundle does not trust ({message}); "
        "TLS-inspection proxies, antivirus and corporate firewalls show up here with "
        "their own CA",
        "if this is your company's inspection CA, pass it with --ca-bundle FILE (and to your "
        "app); for a self-signed server use --ca-bundle with its CA; update certifi if stale",
    )


def _handshake_failure(
    exc: BaseException, endpoint: Endpoint, address: str, options: CheckOptions
) -> tuple[str, ErrorKind, str, str]:
    text = str(exc)
    if any(marker in text for marker in _NOT_TLS_MARKERS):
        spoken = _peek_plaintext(endpoint, address, options)
        return (
            "not TLS: the port answers in plain text",
            ErrorKind.TLS_NOT_TLS,
            f"{endpoint} does not speak TLS" + (f" (it answers {spoken!r})" if spoken else ""),
            "use ws:// / http:// for this port (e.g. --no-tls), or the server's TLS port",
        )
    if any(marker in text for marker in _VERSION_MARKERS):
        return (
            "no TLS version in common",
            ErrorKind.TLS_PROTOCOL_ERROR,
            f"the server and wsdiag share no TLS version ({text}); wsdiag offers TLS 1.2 and "
            "1.3, so the server likely speaks only TLS 1.0/1.1, which clients reject",
            "enable TLS 1.2+ on the server or its load balancer",
        )
    if isinstance(exc, ConnectionResetError) or "reset" in text.lower() or "EOF" in text:
        # A TCP reset is what SNI-filtering firewalls send; a clean close is the server's choice.
        reset = isinstance(exc, ConnectionResetError) or "reset" in text.lower()
        return (
            "connection reset during the handshake" if reset else "closed during the handshake",
            ErrorKind.TCP_RESET if reset else ErrorKind.TLS_PROTOCOL_ERROR,
            f"the connection was cut during the TLS handshake ({text}): a firewall or proxy "
            "filtering by SNI, or a server that rejects this client",
            f"check firewall/SNI filtering rules for {endpoint.host}; compare from another network",
        )
    return (
        f"TLS error: {text}",
        ErrorKind.TLS_PROTOCOL_ERROR,
        f"the TLS handshake failed: {text}",
        "check the server's TLS configuration",
    )


def _peek_plaintext(endpoint: Endpoint, address: str, options: CheckOptions) -> str:
    """What the port says to a plain HTTP request, to name the protocol it speaks."""
    try:
        with connect_to(
            endpoint.host, address, endpoint.port, options.timeout, options.proxy
        ) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            first = sock.recv(64).decode("latin-1").splitlines()
            return first[0] if first else ""
    except (OSError, IndexError):
        return ""
