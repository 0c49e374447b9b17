"""The ``reach`` stage: TCP connect to every address on every port a client may use.

All probes run at once (a thread each, bounded), so a firewall that drops
packets costs one timeout, not one per address. ``diagnose_ports`` then reads
across one host's probes for what no single probe says: 443 blocked while 80
is open, or a machine without IPv6 talking to a dual-stack host.

Telling "this machine has no IPv6" from "the path to the server is broken"
is ``wsdiag.classify``'s job, as is naming every other connect failure.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import replace

from wsdiag.checks import CheckOptions, dial_stage
from wsdiag.classify import (
    Diagnosis,
    classify_connect_error,
    classify_dial,
    connect_summary,
    endpoint_label,
    family_of,
)
from wsdiag.concurrency import map_bounded
from wsdiag.dialer import DialError
from wsdiag.models import ErrorKind, Probed, Stage, StageResult, Status, Stopwatch

# Threads spend their life waiting on a SYN; a Pusher target has up to
# 3 hosts x 2 ports x ~8 addresses, and each batch beyond this costs a timeout.
MAX_PARALLEL = 64


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
    probe = Probed(host, address, port)
    try:
        dial_stage(host, port, options, addresses=[address], watch=watch).close()
    except DialError as err:
        kind, cause, fix = classify_connect_error(err.error, address, port, options.timeout)
        code = getattr(err.error, "errno", None)
        details["errno"] = errno.errorcode.get(code) if isinstance(code, int) else None
        # No IPv6 on this machine is common and survivable (clients use IPv4), so it
        # is a warning; diagnose_ports fails the host if IPv6 was all it had.
        v6_down = kind is ErrorKind.TCP_NETWORK_DOWN and ":" in address
        found = Diagnosis(kind, connect_summary(kind, address), cause, fix)
        status = Status.WARN if v6_down else Status.FAIL
        return _probe_result(probe, subject, details, watch, found, status)
    return _probe_result(probe, subject, details, watch)


def _probe_result(
    probe: Probed,
    subject: str,
    details: dict[str, object],
    watch: Stopwatch,
    found: Diagnosis | None = None,
    status: Status = Status.FAIL,
) -> StageResult:
    """A reach record: open, or what ``found`` says went wrong."""
    if found is None:
        summary = "tunnel open" if "proxy" in details else "open"
        return StageResult(
            Stage.REACH,
            subject,
            Status.OK,
            summary,
            details=details,
            phases=watch.frozen(),
            outcome=probe,
        )
    return StageResult(
        Stage.REACH,
        subject,
        status,
        found.summary,
        found.kind,
        found.cause,
        found.fix,
        details,
        watch.frozen(),
        outcome=probe,
    )


def probe_tunnel(
    host: str, port: int, options: CheckOptions, address: str | None = None
) -> StageResult:
    """Through the proxy: TCP to it, then the tunnel to ``host:port`` (the proxy resolves
    ``host``; socks5:// and socks4:// are handed ``address``, resolved here)."""
    proxy = options.proxy
    assert proxy is not None
    details: dict[str, object] = {
        "host": host,
        "port": port,
        "proxy": proxy.label,
        "proxy_source": proxy.source,
    }
    watch = Stopwatch()
    address = address or host
    subject = f"{endpoint_label(address, port)} via proxy"  # [::1]:443, as everywhere
    probe = Probed(host, address, port)  # the address is the name when the proxy resolves it
    handed = [address] if address != host else None
    try:
        dial_stage(host, port, options, addresses=handed, watch=watch).close()
    except DialError as err:
        found = classify_dial(err, host, port, options.timeout)
        found = replace(found, summary=found.summary.removeprefix("proxy: "))
        return _probe_result(probe, subject, details, watch, found)
    return _probe_result(probe, subject, details, watch)


def probe_all(targets: Sequence[tuple[str, str, int]], options: CheckOptions) -> list[StageResult]:
    """Probe (host, address, port) triples concurrently; results in input order.

    Through a proxy the address is the host name itself (the proxy resolves
    it) and each probe is a CONNECT tunnel instead of a TCP connect.
    """

    def probe(target: tuple[str, str, int]) -> StageResult:
        host, address, port = target
        if options.proxy is not None:
            return probe_tunnel(host, port, options, address)
        return probe_tcp(host, address, port, options)

    return map_bounded(probe, targets, MAX_PARALLEL, "wsdiag-reach")


def judge_as_client(
    results: Sequence[StageResult], fallback_host: str | None = None
) -> list[StageResult]:
    """Failures a client routes around become warnings that say what they cost.

    The verdict answers "would the user's client connect?", so a failed probe
    is only a failure when no path a client takes is left (issue 9):

    - another address of the same host and port is open: clients race the
      addresses (Happy Eyeballs, RFC 8305) and use the one that works;
    - port 80 while 443 is open on the same host: pusher-js 8 uses wss:// on
      443 (forceTLS); only a client set to ws:// would need 80;
    - pusher-js's HTTP fallback host: it only matters when WebSocket fails, and
      then the websocket stage fails and is the headline.
    """
    open_by_port: dict[tuple[str, int], list[Probed]] = {}
    for result in results:
        if result.status is Status.OK and isinstance(result.outcome, Probed):
            probe = result.outcome
            open_by_port.setdefault((probe.host, probe.port), []).append(probe)
    return [_as_client(r, open_by_port, fallback_host) for r in results]


def _as_client(
    result: StageResult,
    open_by_port: dict[tuple[str, int], list[Probed]],
    fallback_host: str | None,
) -> StageResult:
    if result.status is not Status.FAIL or not isinstance(result.outcome, Probed):
        return result
    host, port = result.outcome.host, result.outcome.port
    working = open_by_port.get((host, port))
    if working:
        consequence = (
            f"; {endpoint_label(working[0].address, port)} works, and clients race the addresses "
            "(Happy Eyeballs, RFC 8305), so they connect there"
        )
        fix = (
            f"{result.fix}. Clients are not blocked; fix this address for clients that try "
            "addresses one by one (they wait for the timeout first)"
        )
        return replace(result, status=Status.WARN, cause=f"{result.cause}{consequence}", fix=fix)
    if port == 80 and open_by_port.get((host, 443)):
        consequence = (
            "; port 443 works, and pusher-js uses wss:// on 443 by default (forceTLS): only "
            "a client configured for ws:// (forceTLS: false) needs port 80"
        )
        return replace(result, status=Status.WARN, cause=f"{result.cause}{consequence}")
    if host == fallback_host:
        consequence = (
            "; this is pusher-js's HTTP fallback host, used only when WebSocket fails: "
            "clients connect over WebSocket, but have no fallback"
        )
        return replace(result, status=Status.WARN, cause=f"{result.cause}{consequence}")
    return result


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
        if isinstance(result.outcome, Probed):
            by_port.setdefault(result.outcome.port, []).append(result)
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
    v6 = [r for r in results if isinstance(r.outcome, Probed) and r.outcome.family == "ipv6"]
    v4 = [r for r in results if isinstance(r.outcome, Probed) and r.outcome.family == "ipv4"]
    if not v6 or any(r.kind is not ErrorKind.TCP_NETWORK_DOWN for r in v6):
        return None
    details = {
        "ipv6_addresses": sorted({r.outcome.address for r in v6 if isinstance(r.outcome, Probed)})
    }
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
