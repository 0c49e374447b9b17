"""The ``reach`` stage: TCP connect to every address on every port a client may use.

All probes run at once (a thread each, bounded), so a firewall that drops
packets costs one timeout, not one per address. ``diagnose_ports`` then reads
across a host's probes for what no single probe says: 443 blocked while 80 is
open.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from wsdiag.checks import CheckOptions
from wsdiag.models import ErrorKind, Stage, StageResult, Status, Stopwatch
from wsdiag.transport import connect_tcp

MAX_PARALLEL = 32


def family_of(address: str) -> str:
    return "ipv6" if ":" in address else "ipv4"


def endpoint_label(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def classify_connect_error(
    exc: BaseException, address: str, port: int, timeout: float
) -> tuple[ErrorKind, str, str]:
    """(kind, cause, fix) for a failed TCP connect; shared with the other stages."""
    where = endpoint_label(address, port)
    code = getattr(exc, "errno", None)
    if isinstance(exc, TimeoutError | socket.timeout) or code == errno.ETIMEDOUT:
        return (
            ErrorKind.TCP_FILTERED,
            f"no answer from {where} within {timeout:g} s: a firewall silently drops the packets",
            f"allow outbound TCP {port} (firewall, security group, corporate network), "
            "or try another network to compare",
        )
    if isinstance(exc, ConnectionRefusedError) or code == errno.ECONNREFUSED:
        return (
            ErrorKind.TCP_REFUSED,
            f"{where} refused the connection: nothing listens there, or a firewall rejects it",
            f"check that the server runs and listens on port {port} (self-hosted: the server's "
            "port setting and bind address); otherwise ask for the port to be opened",
        )
    if code in (errno.EHOSTUNREACH, errno.ENETUNREACH) and _has_route(address):
        return (
            ErrorKind.TCP_UNREACHABLE,
            f"{where} is unreachable: a router or firewall answered with ICMP unreachable",
            f"a firewall rejects outbound TCP {port} or the network has no path there: "
            "ask for it to be allowed, or try another network",
        )
    if code in (errno.ENETUNREACH, errno.ENETDOWN, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return (
            ErrorKind.TCP_NETWORK_DOWN,
            f"no route to {where}: this machine has no {family_of(address).upper()} connectivity",
            "nothing to fix when the other address family works; otherwise check the network "
            "connection and default route",
        )
    if isinstance(exc, ConnectionResetError) or code == errno.ECONNRESET:
        return (
            ErrorKind.TCP_RESET,
            f"{where} reset the connection",
            "a firewall or proxy cuts the connection: ask for the port to be allowed",
        )
    return (
        ErrorKind.TCP_UNREACHABLE,
        f"cannot connect to {where}: {exc}",
        "check the network connection",
    )


def _has_route(address: str) -> bool:
    """Whether the kernel has a route to ``address`` (a UDP connect sends nothing)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((address, 9))
    except OSError:
        return False
    return True


def probe_tcp(host: str, address: str, port: int, options: CheckOptions) -> StageResult:
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
        code = getattr(exc, "errno", None)
        details["errno"] = errno.errorcode.get(code, str(code)) if code else "timeout"
        summary = kind.value.removeprefix("tcp_").replace("_", " ")
        # No IPv6 route on this machine is common and survivable (clients use IPv4): a
        # warning. If IPv4 has no route either, its own probes fail the run.
        status = (
            Status.WARN if kind is ErrorKind.TCP_NETWORK_DOWN and ":" in address else Status.FAIL
        )
        return StageResult(
            Stage.REACH, subject, status, summary, kind, cause, fix, details, watch.frozen()
        )
    sock.close()
    return StageResult(
        Stage.REACH, subject, Status.OK, "open", details=details, phases=watch.frozen()
    )


def probe_all(targets: Sequence[tuple[str, str, int]], options: CheckOptions) -> list[StageResult]:
    """Probe (host, address, port) triples concurrently; results in input order."""
    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(targets))) as pool:
        futures = [pool.submit(probe_tcp, h, a, p, options) for h, a, p in targets]
        return [f.result() for f in futures]


def diagnose_ports(host: str, results: Sequence[StageResult]) -> list[StageResult]:
    """Findings across one host's probes that no single probe states."""
    findings: list[StageResult] = []
    by_port: dict[int, list[StageResult]] = {}
    for result in results:
        by_port.setdefault(int(result.details["port"]), []).append(result)
    open_ports = {p for p, rs in by_port.items() if any(r.status is Status.OK for r in rs)}
    if 443 in by_port and 80 in by_port:
        if 443 not in open_ports and 80 in open_ports:
            findings.append(
                StageResult(
                    Stage.REACH,
                    host,
                    Status.FAIL,
                    "port 443 blocked, port 80 open",
                    ErrorKind.TCP_PORT_443_BLOCKED,
                    "TCP 443 is blocked on every address while 80 gets through: wss:// (the "
                    "pusher-js default, forceTLS: true) cannot connect",
                    "open outbound TCP 443. As a stopgap pusher-js with forceTLS: false can use "
                    "ws:// on port 80, but that is unencrypted and many proxies break WebSockets "
                    "on 80",
                    {"open_ports": sorted(open_ports)},
                )
            )
        elif 80 not in open_ports and 443 in open_ports:
            findings.append(
                StageResult(
                    Stage.REACH,
                    host,
                    Status.OK,
                    "port 80 blocked, 443 open: only wss:// on 443 works (the pusher-js default)",
                    details={"open_ports": sorted(open_ports)},
                )
            )
    return findings
