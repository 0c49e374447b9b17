"""TLS failures: OpenSSL's verify code and handshake errors → kind, cause and fix. Pure."""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from wsdiag.classify.diagnosis import Diagnosis
from wsdiag.models import ErrorKind

# OpenSSL reason strings that mean "the other side does not speak TLS at all".
_NOT_TLS_MARKERS = (
    "WRONG_VERSION_NUMBER",
    "HTTP_REQUEST",
    "RECORD_LAYER",
    "record layer",
    "PACKET_LENGTH_TOO_LONG",
    "UNKNOWN_PROTOCOL",
)
# … and "we share no protocol version".
_VERSION_MARKERS = (
    "UNSUPPORTED_PROTOCOL",
    "NO_PROTOCOLS_AVAILABLE",
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "VERSION_TOO_LOW",
    "NO_SUPPORTED_VERSIONS",
)
# X509_V_ERR_* codes (OpenSSL's x509_vfy.h) → kind; anything else is an untrusted chain.
_VERIFY_CODES: Mapping[int, ErrorKind] = {
    9: ErrorKind.TLS_NOT_YET_VALID,  # CERT_NOT_YET_VALID
    10: ErrorKind.TLS_EXPIRED,  # CERT_HAS_EXPIRED
    62: ErrorKind.TLS_HOSTNAME_MISMATCH,  # HOSTNAME_MISMATCH
    64: ErrorKind.TLS_HOSTNAME_MISMATCH,  # IP_ADDRESS_MISMATCH
}


def tls_verify_kind(exc: ssl.SSLCertVerificationError) -> ErrorKind:
    """The kind of a certificate verification failure, from OpenSSL's verify code."""
    kind = _VERIFY_CODES.get(exc.verify_code)
    if kind is not None:
        return kind
    message = (exc.verify_message or "").lower()  # runtimes that leave the code unset
    if "expired" in message:
        return ErrorKind.TLS_EXPIRED
    if "not yet valid" in message:
        return ErrorKind.TLS_NOT_YET_VALID
    if "hostname" in message or "ip address mismatch" in message:
        return ErrorKind.TLS_HOSTNAME_MISMATCH
    return ErrorKind.TLS_UNTRUSTED_ISSUER


def classify_tls(
    exc: BaseException,
    host: str,
    where: str,
    timeout: float,
    chain: Sequence[Mapping[str, Any]] = (),
    spoken: str = "",
) -> Diagnosis:
    """A failed TLS handshake with ``host`` at ``where`` (``host:port``).

    ``chain`` (read without verification) names the issuer and dates of a
    rejected certificate; ``spoken`` is what a non-TLS port says to plain HTTP.
    Callers that cannot afford those extra round trips pass neither: the kind
    is the same, only the words are shorter.
    """
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _verify_failure(exc, host, chain)
    if isinstance(exc, TimeoutError):
        return Diagnosis(
            ErrorKind.TLS_HANDSHAKE_TIMEOUT,
            f"no handshake reply within {timeout:g} s",
            "the server accepted TCP but never answered the TLS ClientHello: not a TLS "
            "port, an overloaded server, or a middlebox holding the connection",
            "check that this port serves TLS; compare from another network",
        )
    text = str(exc)
    if any(marker in text for marker in _NOT_TLS_MARKERS):
        return Diagnosis(
            ErrorKind.TLS_NOT_TLS,
            "not TLS: the port answers in plain text",
            f"{where} does not speak TLS" + (f" (it answers {spoken!r})" if spoken else ""),
            "use ws:// / http:// for this port (e.g. --no-tls), or the server's TLS port",
        )
    if any(marker in text for marker in _VERSION_MARKERS):
        return Diagnosis(
            ErrorKind.TLS_PROTOCOL_ERROR,
            "no TLS version in common",
            f"the server and wsdiag share no TLS version ({text}); wsdiag offers TLS 1.2 and "
            "1.3, so the server likely speaks only TLS 1.0/1.1, which clients reject",
            "enable TLS 1.2+ on the server or its load balancer",
        )
    lowered = text.lower()
    if isinstance(exc, ConnectionResetError) or "reset" in lowered or "EOF" in text:
        # A TCP reset is what SNI-filtering firewalls send; a clean close is the server's choice.
        reset = isinstance(exc, ConnectionResetError) or "reset" in lowered
        return Diagnosis(
            ErrorKind.TCP_RESET if reset else ErrorKind.TLS_PROTOCOL_ERROR,
            "connection reset during the handshake" if reset else "closed during the handshake",
            f"the connection was cut during the TLS handshake ({text}): a firewall or proxy "
            "filtering by SNI, or a server that rejects this client",
            f"check firewall/SNI filtering rules for {host}; compare from another network",
        )
    return Diagnosis(
        ErrorKind.TLS_PROTOCOL_ERROR,
        f"TLS error: {text}",
        f"the TLS handshake failed: {text}",
        "check the server's TLS configuration",
    )


def _verify_failure(
    exc: ssl.SSLCertVerificationError, host: str, chain: Sequence[Mapping[str, Any]]
) -> Diagnosis:
    message = exc.verify_message or str(exc)
    kind = tls_verify_kind(exc)
    leaf = chain[0] if chain else {}
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    # Without the chain (a using stage that did not read it) the dates are not known:
    # say so instead of printing "?", and point at the stage that shows them.
    not_after = leaf.get("not_after")
    not_before = leaf.get("not_before")
    if kind is ErrorKind.TLS_EXPIRED:
        when = f"on {not_after}" if not_after else "(`wsdiag tls` shows the dates)"
        return Diagnosis(
            kind,
            f"certificate expired {not_after or ''}".strip(),
            f"the server's certificate expired {when} (this machine's "
            f"clock says {now}; a wrong clock causes this too)",
            "renew the server's certificate; if it is valid, correct this machine's clock",
        )
    if kind is ErrorKind.TLS_NOT_YET_VALID:
        since = f"only from {not_before}" if not_before else "only from a later date"
        return Diagnosis(
            kind,
            "certificate not yet valid",
            f"the certificate is valid {since} and this machine's clock says {now}: "
            "usually this clock is behind",
            "sync this machine's clock (timedatectl set-ntp true)",
        )
    if kind is ErrorKind.TLS_HOSTNAME_MISMATCH:
        names = ", ".join(leaf.get("sans") or []) or leaf.get("subject") or "other names"
        return Diagnosis(
            kind,
            f"certificate is not for {host}",
            f"the certificate covers {names}, not {host}",
            "connect with the name the certificate was issued for, or reissue it to include "
            f"{host} (behind a load balancer: check which certificate it serves)",
        )
    issuer = (chain[-1] if chain else {}).get("issuer") or leaf.get("issuer") or "unknown"
    return Diagnosis(
        kind,
        f"untrusted issuer: {issuer}",
        f"the chain ends at {issuer!r}, which the CA bundle does not trust ({message}); "
        "TLS-inspection proxies, antivirus and corporate firewalls show up here with "
        "their own CA",
        "if this is your company's inspection CA, pass it with --ca-bundle FILE (and to your "
        "app); for a self-signed server use --ca-bundle with its CA; update certifi if stale",
    )
