"""The one classifier: what went wrong, from the phase and the error, as kind + cause + fix.

Every stage and command that opens a connection (reach, tls, websocket, the
HTTP API, tail, the auth-endpoint tester) names its failures here, so two of
them can never disagree about the same fault. The functions are pure but for
``local_gap``, which asks the kernel for a route (no packet leaves).

Telling "this machine has no IPv6" from "the path to the server is broken":
before blaming the network we ask the kernel for a route to the address with a
UDP ``connect`` (it only looks up the route and picks a source address). No
route, no usable source address, or only a link-local or loopback source for a
global destination means the failure is local and family-wide:
``TCP_NETWORK_DOWN``. With a usable route, ENETUNREACH and EHOSTUNREACH can
only have come back as ICMP from the path: ``TCP_UNREACHABLE``.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from wsdiag.models import ErrorKind

if TYPE_CHECKING:
    from wsdiag.dialer import DialError


@dataclass(frozen=True)
class Diagnosis:
    """A named failure: a short summary for the row, and the cause and fix for the reader."""

    kind: ErrorKind
    summary: str
    cause: str
    fix: str


# Errors the kernel raises before anything is sent when it cannot use a family.
_LOCAL_ERRNOS = frozenset({errno.ENETUNREACH, errno.ENETDOWN, errno.EADDRNOTAVAIL})
_ROUTE_ERRNOS = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH})


def family_of(address: str) -> str:
    return "ipv6" if ":" in address else "ipv4"


def endpoint_label(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def local_gap(address: str) -> str | None:
    """Why this machine cannot send to ``address`` at all, or None when it has a usable route.

    A UDP connect looks up the route and the source address without sending
    anything, so this is instant and safe to call after every failed connect.
    """
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    name = "IPv6" if family == socket.AF_INET6 else "IPv4"
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((address, 9))
            source = str(probe.getsockname()[0])
    except OSError as exc:
        if exc.errno == errno.ENETUNREACH:
            return f"this machine has no {name} route"
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            return f"this machine has no usable {name} address ({name} disabled)"
        return None
    if _only_local_source(address, source):
        return f"this machine has only a link-local {name} address ({source}), no {name} network"
    return None


def _only_local_source(destination: str, source: str) -> bool:
    """A link-local or loopback source cannot carry traffic to a routed destination."""
    try:
        dst = ipaddress.ip_address(destination.split("%", maxsplit=1)[0])
        src = ipaddress.ip_address(source.split("%", maxsplit=1)[0])
    except ValueError:
        return False
    if dst.is_loopback or dst.is_link_local:
        return False
    return src.is_loopback or src.is_link_local


def classify_connect_error(
    exc: BaseException, address: str, port: int, timeout: float
) -> tuple[ErrorKind, str, str]:
    """(kind, cause, fix) for a failed TCP connect; shared with the other stages."""
    from wsdiag.proxy import ProxyError

    if isinstance(exc, ProxyError):  # through a proxy: it already says what went wrong
        return exc.kind, exc.cause, exc.fix
    where = endpoint_label(address, port)
    code = getattr(exc, "errno", None)
    if isinstance(exc, ConnectionRefusedError) or code == errno.ECONNREFUSED:
        return (
            ErrorKind.TCP_REFUSED,
            f"{where} refused the connection: nothing listens on port {port}, "
            "or a firewall rejects it with a TCP reset",
            f"check that the server runs and listens on port {port} (self-hosted: its port "
            f"and bind address); otherwise ask for outbound TCP {port} to be allowed",
        )
    if isinstance(exc, ConnectionResetError) or code == errno.ECONNRESET:
        return (
            ErrorKind.TCP_RESET,
            f"{where} reset the connection while it was being set up",
            f"a firewall, proxy or load balancer cuts connections to port {port}: "
            "ask for it to be allowed, or try another network",
        )
    timed_out = isinstance(exc, TimeoutError) or code == errno.ETIMEDOUT
    if timed_out or code in _LOCAL_ERRNOS | _ROUTE_ERRNOS or code == errno.EAFNOSUPPORT:
        gap = local_gap(address)
        if gap is not None or code in (errno.ENETDOWN, errno.EAFNOSUPPORT):
            return _network_down(where, address, gap)
    if timed_out:
        return (
            ErrorKind.TCP_FILTERED,
            f"no answer from {where} within {timeout:g} s: a firewall or security group "
            f"silently drops packets to port {port}",
            f"ask for outbound TCP {port} to be allowed (firewall, security group, "
            "corporate network), or try another network to compare",
        )
    return _rejected(exc, code, where, port)


def _network_down(where: str, address: str, gap: str | None) -> tuple[ErrorKind, str, str]:
    name = family_of(address).replace("ip", "IP")
    if name == "IPv6":
        fix = (
            "nothing to fix when IPv4 works: clients fall back to it. For IPv6, ask for "
            "router advertisements / DHCPv6 on this network, or check the VPN"
        )
    else:
        fix = "check the network connection: interface up, DHCP lease, default route (ip route)"
    return ErrorKind.TCP_NETWORK_DOWN, f"cannot send to {where}: {gap or 'network is down'}", fix


def _rejected(
    exc: BaseException, code: int | None, where: str, port: int
) -> tuple[ErrorKind, str, str]:
    """Errors the path sent back (ICMP) or this machine's own firewall raised."""
    if code in _ROUTE_ERRNOS:
        what = "network" if code == errno.ENETUNREACH else "host"
        return (
            ErrorKind.TCP_UNREACHABLE,
            f"{where} is unreachable: a router or firewall answered ICMP {what} unreachable "
            "(or, on the local network, the host did not answer ARP/neighbour discovery)",
            f"a firewall rejects outbound TCP {port} or a router has no path there: ask for "
            "it to be allowed, or try another network",
        )
    if code == errno.EACCES:
        return (
            ErrorKind.TCP_UNREACHABLE,
            f"{where}: a firewall on the path answered 'administratively prohibited'",
            f"ask for outbound TCP {port} to be allowed, or try another network",
        )
    if code == errno.EPERM:
        # Netfilter on this machine dropping in OUTPUT makes connect() fail with EPERM.
        return (
            ErrorKind.TCP_FILTERED,
            f"this machine's own firewall refused to send to {where}",
            f"allow outbound TCP {port} in the local firewall (iptables/nftables, ufw, "
            "firewalld, an endpoint-security agent)",
        )
    return (
        ErrorKind.TCP_UNREACHABLE,
        f"cannot connect to {where}: {exc}",
        "check the network connection, or try another network",
    )


def is_local_gap(exc: BaseException, address: str) -> bool:
    """True when ``exc`` only says this machine cannot use ``address``'s family at all."""
    code = getattr(exc, "errno", None)
    if code in (errno.ENETDOWN, errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
        return True
    local_suspect = isinstance(exc, TimeoutError) or code in _LOCAL_ERRNOS | _ROUTE_ERRNOS
    return local_suspect and local_gap(address) is not None


_CONNECT_SUMMARIES = {
    ErrorKind.TCP_REFUSED: "refused",
    ErrorKind.TCP_FILTERED: "filtered: no answer",
    ErrorKind.TCP_UNREACHABLE: "unreachable",
    ErrorKind.TCP_RESET: "reset",
}


def connect_summary(kind: ErrorKind, address: str) -> str:
    """The short row text for a failed connect."""
    return _CONNECT_SUMMARIES.get(kind) or f"no {family_of(address).replace('ip', 'IP')} network"


# ---------------------------------------------------------------------- TLS

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


# --------------------------------------------------------------------- dials


def classify_dial(err: DialError, host: str, port: int, timeout: float) -> Diagnosis:
    """A failed ``dialer.dial``: DNS, connect (every attempt), proxy, tunnel or TLS."""
    from wsdiag.proxy import ProxyError

    exc = err.error
    if isinstance(exc, ProxyError):
        return Diagnosis(exc.kind, f"proxy: {exc.summary}", exc.cause, exc.fix)
    if err.phase == "dns":
        return _dns_failure(exc, host)
    if err.phase == "tls":
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return classify_tls(exc, host, where, timeout)
    if err.phase in ("proxy", "tunnel"):
        return Diagnosis(
            ErrorKind.PROXY_ERROR,
            "the proxy connection broke",
            f"the connection to the proxy broke during CONNECT: {exc}",
            "check the proxy, or try again",
        )
    address = err.address or host
    kind, cause, fix = classify_connect_error(exc, address, port, timeout)
    summary = f"TCP: {connect_summary(kind, address)}"
    others = [a for a in err.attempts if a.address != address and a.error is not None]
    if others:  # Happy Eyeballs tried more than one address: say so
        tried = ", ".join(endpoint_label(a.address, port) for a in err.attempts)
        cause += f" (every address failed: {tried})"
    return Diagnosis(kind, summary, cause, fix)


def _dns_failure(exc: BaseException, host: str) -> Diagnosis:
    if isinstance(exc, TimeoutError):
        return Diagnosis(
            ErrorKind.DNS_TIMEOUT,
            "DNS: no answer",
            f"{host}: {exc}",
            "check this machine's DNS settings (resolv.conf, VPN), or run `wsdiag resolve`",
        )
    if isinstance(exc, socket.gaierror) and exc.errno in (socket.EAI_NONAME, socket.EAI_NODATA):
        return Diagnosis(
            ErrorKind.DNS_NXDOMAIN,
            "DNS: name does not resolve",
            f"{host} does not resolve: {exc.strerror}",
            "check the host name; run `wsdiag resolve` for the details",
        )
    return Diagnosis(
        ErrorKind.DNS_SERVFAIL,
        "DNS: lookup failed",
        f"looking up {host} failed: {getattr(exc, 'strerror', None) or exc}",
        "check this machine's DNS settings, or run `wsdiag resolve`",
    )
