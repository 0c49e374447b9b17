"""Connect, DNS and dial failures: errno and phase → kind, cause and fix.

Pure but for ``local_gap``, which asks the kernel for a route (no packet leaves).

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
from typing import TYPE_CHECKING

from wsdiag.classify.diagnosis import Diagnosis
from wsdiag.classify.tls import classify_tls
from wsdiag.models import ErrorKind

if TYPE_CHECKING:
    from wsdiag.dialer import DialError


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
            f"the connection to the proxy broke while asking for the tunnel: {exc}",
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


# EAI_NODATA is glibc's; other platforms have only EAI_NONAME.
_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _dns_failure(exc: BaseException, host: str) -> Diagnosis:
    if isinstance(exc, TimeoutError):
        return Diagnosis(
            ErrorKind.DNS_TIMEOUT,
            "DNS: no answer",
            f"{host}: {exc}",
            "check this machine's DNS settings (resolv.conf, VPN), or run `wsdiag resolve`",
        )
    if isinstance(exc, socket.gaierror) and exc.errno in _NO_SUCH_NAME:
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
