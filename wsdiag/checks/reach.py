"""The ``reach`` stage: TCP connect to every address on every port a client may use.

All probes run at once (a thread each, bounded), so a firewall that drops
packets costs one timeout, not one per address. ``diagnose_ports`` then reads
across one host's probes for what no single probe says: 443 blocked while 80
is open, or a machine without IPv6 talking to a dual-stack host.

Telling "this machine has no IPv6" from "the path to the server is broken":
before blaming the network we ask the kernel for a route to the address with a
UDP ``connect`` (it only looks up the route and picks a source address; no
packet leaves). No route, no usable source address, or only a link-local or
loopback source for a global destination means the failure is local and
family-wide: ``TCP_NETWORK_DOWN``. With a usable route, ENETUNREACH and
EHOSTUNREACH can only have come back as ICMP from the path: ``TCP_UNREACHABLE``.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Sequence

from wsdiag.checks import CheckOptions
from wsdiag.concurrency import map_bounded
from wsdiag.models import ErrorKind, Stage, StageResult, Status, Stopwatch
from wsdiag.transport import connect_tcp

# Threads spend their life waiting on a SYN; a Pusher target has up to
# 3 hosts x 2 ports x ~8 addresses, and each batch beyond this costs a timeout.
MAX_PARALLEL = 64
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


_SUMMARIES = {
    ErrorKind.TCP_REFUSED: "refused",
    ErrorKind.TCP_FILTERED: "filtered: no answer",
    ErrorKind.TCP_UNREACHABLE: "unreachable",
    ErrorKind.TCP_RESET: "reset",
}


def connect_failure(
    exc: BaseException, address: str, port: int, timeout: float
) -> tuple[str, ErrorKind, str, str]:
    """(summary, kind, cause, fix) for a stage whose own connect failed (tls, websocket)."""
    from wsdiag.proxy import ProxyError

    kind, cause, fix = classify_connect_error(exc, address, port, timeout)
    if isinstance(exc, ProxyError):
        return f"proxy: {exc.summary}", kind, cause, fix
    return f"TCP: {_summary(kind, address)}", kind, cause, fix


def _summary(kind: ErrorKind, address: str) -> str:
    return _SUMMARIES.get(kind) or f"no {family_of(address).replace('ip', 'IP')} network"


def probe_tcp(host: str, address: str, port: int, options: CheckOptions) -> StageResult:
    """One TCP connect to ``address``:``port`` (``host`` is the name it came from)."""
    label = endpoint_label(address, port)
    subject = label if host == address else f"{host} {label}"
    details: dict[str, object] = {
        "host": host,
        "address": address,
        "port": port,
        "family": family_of(address),
        "errno": None,
    }
    watch = Stopwatch()
    try:
        with watch.phase("connect"):
            sock = connect_tcp(address, port, options.timeout)
    except OSError as exc:
        kind, cause, fix = classify_connect_error(exc, address, port, options.timeout)
        code = exc.errno
        details["errno"] = errno.errorcode.get(code) if isinstance(code, int) else None
        summary = _summary(kind, address)
        # No IPv6 on this machine is common and survivable (clients use IPv4), so it
        # is a warning; diagnose_ports fails the host if IPv6 was all it had.
        v6_down = kind is ErrorKind.TCP_NETWORK_DOWN and ":" in address
        status = Status.WARN if v6_down else Status.FAIL
        return StageResult(
            Stage.REACH, subject, status, summary, kind, cause, fix, details, watch.frozen()
        )
    sock.close()
    return StageResult(
        Stage.REACH, subject, Status.OK, "open", details=details, phases=watch.frozen()
    )


def probe_tunnel(host: str, port: int, options: CheckOptions) -> StageResult:
    """Through the proxy: TCP to it, then ``CONNECT host:port`` (the proxy resolves ``host``)."""
    from wsdiag.proxy import ProxyError, connect_proxy, request_tunnel

    proxy = options.proxy
    assert proxy is not None
    details: dict[str, object] = {
        "host": host,
        "port": port,
        "proxy": proxy.label,
        "proxy_source": proxy.source,
    }
    watch = Stopwatch()
    subject = f"{host}:{port} via proxy"
    try:
        with watch.phase("proxy"):
            sock = connect_proxy(proxy, options.timeout)
        try:
            with watch.phase("tunnel"):
                request_tunnel(sock, proxy, host, port, options.timeout)
        finally:
            sock.close()
    except ProxyError as exc:
        return StageResult(
            Stage.REACH,
            subject,
            Status.FAIL,
            exc.summary,
            exc.kind,
            exc.cause,
            exc.fix,
            details,
            watch.frozen(),
        )
    except OSError as exc:
        return StageResult(
            Stage.REACH,
            subject,
            Status.FAIL,
            "the proxy connection broke",
            ErrorKind.PROXY_ERROR,
            f"the connection to {proxy.label} broke during CONNECT: {exc}",
            "check the proxy, or try again",
            details,
            watch.frozen(),
        )
    return StageResult(
        Stage.REACH, subject, Status.OK, "tunnel open", details=details, phases=watch.frozen()
    )


def probe_all(targets: Sequence[tuple[str, str, int]], options: CheckOptions) -> list[StageResult]:
    """Probe (host, address, port) triples concurrently; results in input order.

    Through a proxy the address is the host name itself (the proxy resolves
    it) and each probe is a CONNECT tunnel instead of a TCP connect.
    """

    def probe(target: tuple[str, str, int]) -> StageResult:
        host, address, port = target
        if options.proxy is not None:
            return probe_tunnel(host, port, options)
        return probe_tcp(host, address, port, options)

    return map_bounded(probe, targets, MAX_PARALLEL, "wsdiag-reach")


def diagnose_ports(host: str, results: Sequence[StageResult]) -> list[StageResult]:
    """Findings across one host's probes that no single probe states; [] when none.

    Probes that failed for lack of a local route (IPv6 on an IPv4-only machine)
    say nothing about the ports and are left out of the port comparison. They
    stay in the report as the warnings they are; the IPv6 finding here explains
    them once for the host (or fails the host when IPv6 was all it had).
    """
    routable = [r for r in results if r.kind is not ErrorKind.TCP_NETWORK_DOWN]
    findings = _port_findings(host, routable)
    finding = _ipv6_finding(host, results)
    if finding is not None:
        findings.append(finding)
    return findings


def _port_findings(host: str, results: Sequence[StageResult]) -> list[StageResult]:
    by_port: dict[int, list[StageResult]] = {}
    for result in results:
        by_port.setdefault(int(result.details["port"]), []).append(result)
    if 443 not in by_port or 80 not in by_port:
        return []
    open_ports = sorted(p for p, rs in by_port.items() if any(r.status is Status.OK for r in rs))
    details = {
        "open_ports": open_ports,
        "blocked_ports": sorted(set(by_port) - set(open_ports)),
        "kinds_443": sorted({str(r.kind) for r in by_port[443] if r.kind is not None}),
    }
    if 443 not in open_ports and 80 in open_ports:
        return [
            StageResult(
                Stage.REACH,
                host,
                Status.FAIL,
                "port 443 blocked, port 80 open",
                ErrorKind.TCP_PORT_443_BLOCKED,
                f"TCP 443 is blocked on every address of {host} while port 80 gets through: "
                "wss:// (the pusher-js default) cannot connect",
                "open outbound TCP 443 (the real fix). Meanwhile pusher-js with forceTLS: false "
                "can use ws:// on port 80, but that is unencrypted and many proxies break "
                "WebSockets on port 80",
                details,
            )
        ]
    if 80 not in open_ports and 443 in open_ports:
        return [
            StageResult(
                Stage.REACH,
                host,
                Status.OK,
                "port 80 blocked, 443 open: only wss:// on 443 will work (the pusher-js default)",
                details=details,
            )
        ]
    return []


def _ipv6_finding(host: str, results: Sequence[StageResult]) -> StageResult | None:
    """One record for "this machine has no IPv6" instead of a failure per address."""
    v6 = [r for r in results if r.details.get("family") == "ipv6"]
    v4 = [r for r in results if r.details.get("family") == "ipv4"]
    if not v6 or any(r.kind is not ErrorKind.TCP_NETWORK_DOWN for r in v6):
        return None
    details = {"ipv6_addresses": sorted({str(r.details["address"]) for r in v6})}
    if any(r.status is Status.OK for r in v4):
        return StageResult(
            Stage.REACH,
            host,
            Status.WARN,
            "no IPv6 on this machine: clients use IPv4",
            ErrorKind.TCP_NETWORK_DOWN,
            f"{host} has IPv6 addresses but this machine cannot send IPv6 (no route or "
            "no global address), so every IPv6 probe failed locally while IPv4 works",
            "nothing to fix for most clients: they fall back to IPv4. Clients without Happy "
            "Eyeballs (RFC 8305; e.g. Node.js before 20) may try IPv6 first and connect "
            "slowly: enable IPv6 properly on this network, or prefer IPv4",
            details,
        )
    if not v4:
        return StageResult(
            Stage.REACH,
            host,
            Status.FAIL,
            "IPv6-only host, and this machine has no IPv6",
            ErrorKind.TCP_NETWORK_DOWN,
            f"{host} has only IPv6 addresses and this machine cannot send IPv6",
            "use a network with IPv6 connectivity (or a VPN / NAT64 that provides it), or "
            "give the server an IPv4 address",
            details,
        )
    return None  # IPv4 failed too: its own failures already say why
