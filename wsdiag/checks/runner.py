"""Runs the stages in order for one target and feeds every result to a sink as it arrives.

The plan follows a client's path: resolve every host, reach every address
on every port a client may use, TLS on each address family, the WebSocket
upgrade and Pusher handshake on each path (wss:443 and ws:80 for a cluster),
then ping on the first path that worked. A failure on one path never hides
the others: a blocked 443 still gets 80 probed and reported.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from wsdiag.checks import CheckOptions
from wsdiag.classify import endpoint_label
from wsdiag.credentials import Credentials
from wsdiag.models import (
    ErrorKind,
    Handshake,
    PathSummary,
    Phase,
    Report,
    Stage,
    StageResult,
    Status,
)
from wsdiag.records import record
from wsdiag.target import Endpoint, Target

ResultSink = Callable[[StageResult], None]
# A failure on a host's path, judged again knowing whether pusher-js's HTTP fallback works.
Rescue = Callable[[StageResult, str], StageResult]
T = TypeVar("T")


class Run:
    """One run: collects results into the report, stamps their start offset, tells the sink."""

    def __init__(self, report: Report, sink: ResultSink | None = None) -> None:
        self.report = report
        self.sink = sink
        self._t0 = time.perf_counter()

    def offset_ms(self) -> float:
        return round((time.perf_counter() - self._t0) * 1000, 3)

    def add(self, result: StageResult, started_ms: float | None = None) -> StageResult:
        if result.started_ms is None:
            result = replace(
                result, started_ms=self.offset_ms() if started_ms is None else started_ms
            )
        self.report.results.append(result)
        if self.sink:
            self.sink(result)
        return result

    def call(
        self, stage: Stage, subject: str, fn: Callable[..., StageResult], *args: Any
    ) -> StageResult:
        """Run one stage function; a bug inside it becomes an INTERNAL record, not a traceback."""
        started = self.offset_ms()
        return self.add(guarded(stage, subject, fn, *args), started)

    def skip(self, stage: Stage, subject: str, why: str) -> StageResult:
        return self.add(StageResult(stage, subject, Status.SKIPPED, f"skipped: {why}"))


def guarded(stage: Stage, subject: str, fn: Callable[..., StageResult], *args: Any) -> StageResult:
    try:
        return fn(*args)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # a bug in wsdiag: keep the traceback for --debug
        return internal_error(stage, subject, exc)


def internal_error(stage: Stage, subject: str, exc: BaseException) -> StageResult:
    return StageResult(
        stage,
        subject,
        Status.FAIL,
        f"internal error: {type(exc).__name__}: {exc}",
        kind=ErrorKind.INTERNAL,
        cause=f"wsdiag hit an unexpected error ({type(exc).__name__}: {exc})",
        fix="run again with --debug and report the traceback to the wsdiag maintainers",
        trace="".join(traceback.format_exception(exc)),
    )


# ---------------------------------------------------------------- stage groups


def resolve_all(run: Run, target: Target, options: CheckOptions) -> dict[str, list[str]]:
    """Resolve every host of the target; returns host -> addresses (empty when DNS failed)."""
    from wsdiag.checks.resolve import addresses_of, resolve_host
    from wsdiag.concurrency import map_bounded

    addresses: dict[str, list[str]] = {}
    if options.proxy is not None:
        # The proxy's own name must resolve here. Through an HTTP proxy, socks5h:// or
        # socks4a://, clients never resolve the target: the proxy does. socks5:// and
        # socks4:// hand the proxy an address, so the target is resolved here too.
        from wsdiag.target import is_ip_literal

        if not is_ip_literal(options.proxy.host):
            run.call(
                Stage.RESOLVE, options.proxy.host, resolve_host, options.proxy.host, options, False
            )
        if not options.proxy.resolves_here:
            return {host: [host] for host in target.hosts}

    # All hosts at once (daemon threads, so Ctrl-C still exits at once): a silent
    # resolver costs one timeout, not one per host (issue 9).
    def resolve(host: str) -> StageResult:
        return guarded(Stage.RESOLVE, host, resolve_host, host, options, target.is_public_cluster)

    hosts = list(target.hosts)
    started = run.offset_ms()
    results = map_bounded(resolve, hosts, len(hosts), "wsdiag-dns")
    for host, result in zip(hosts, results, strict=True):
        added = run.add(_resolved_here(result, options), started)
        addresses[host] = addresses_of(added) if added.status is not Status.FAIL else []
    return addresses


def _resolved_here(result: StageResult, options: CheckOptions) -> StageResult:
    """Through socks5:// or socks4:// this machine resolves the target: a failure says how
    the proxy could resolve it instead."""
    proxy = options.proxy
    if proxy is None or not result.failed:
        return result
    remote = "socks5h" if proxy.scheme == "socks5" else "socks4a"
    instead = f"or let the proxy resolve names: {remote}:// instead of {proxy.scheme}://"
    return replace(result, fix=f"{result.fix}; {instead}")


def _ports_by_host(target: Target) -> dict[str, list[int]]:
    ports: dict[str, list[int]] = {}
    endpoints = [*target.websocket_paths, target.api]
    if target.fallback:
        # pusher-js's HTTP fallback uses the same host on 443 and on 80.
        endpoints += [target.fallback, Endpoint(target.fallback.host, 80, False)]
    for endpoint in endpoints:
        host_ports = ports.setdefault(endpoint.host, [])
        if endpoint.port not in host_ports:
            host_ports.append(endpoint.port)
    return ports


def reach_all(
    run: Run,
    target: Target,
    options: CheckOptions,
    addresses: dict[str, list[str]],
    rescue: Rescue = lambda result, host: result,
) -> set[tuple[str, int]]:
    """Probe every (address, port) a client may use; returns the reachable pairs."""
    from wsdiag.checks.reach import diagnose_ports, judge_as_client, probe_all

    probes: list[tuple[str, str, int]] = []
    for host, ports in _ports_by_host(target).items():
        if not addresses.get(host):
            label = f"{host}:{','.join(map(str, ports))}"
            run.skip(Stage.REACH, label, "no address to connect to (DNS failed)")
            continue
        probes += [(host, address, port) for port in ports for address in addresses[host]]
    if not probes:
        return set()
    started = run.offset_ms()
    try:
        results = probe_all(probes, options)
    except Exception as exc:
        run.add(internal_error(Stage.REACH, target.label, exc), started)
        return set()
    fallback_host = target.fallback.host if target.fallback else None
    results = judge_as_client(results, fallback_host)
    reachable: set[tuple[str, int]] = set()
    for (host, address, port), result in zip(probes, results, strict=True):
        if result.status is Status.OK:
            reachable.add((address, port))
        run.add(rescue(result, host), started)
    for host in dict.fromkeys(h for h, _, _ in probes):
        host_results = [r for (h, _, _), r in zip(probes, results, strict=True) if h == host]
        for finding in guarded_list(diagnose_ports, host, host_results):
            run.add(rescue(finding, host))
    return reachable


def guarded_list(fn: Callable[..., Sequence[StageResult]], *args: Any) -> Sequence[StageResult]:
    try:
        return fn(*args)
    except Exception as exc:
        return [internal_error(Stage.REACH, "diagnosis", exc)]


def pick_addresses(
    candidates: Sequence[str], port: int, reachable: set[tuple[str, int]]
) -> list[str]:
    """The first reachable address of each family (IPv6 first, as clients try it first)."""
    picked: list[str] = []
    for want_v6 in (True, False):
        for address in candidates:
            if (":" in address) == want_v6 and (address, port) in reachable:
                picked.append(address)
                break
    return picked


def usable_addresses(
    candidates: Sequence[str], port: int, reachable: set[tuple[str, int]]
) -> list[str]:
    """Every reachable address, in the resolver's order, for a Happy Eyeballs race."""
    return [address for address in candidates if (address, port) in reachable]


@record
class WorkingPath:
    """A WebSocket path that connected, and the addresses a client may race on it."""

    endpoint: Endpoint
    addresses: tuple[str, ...]


def _unreachable_reason(
    addresses: dict[str, list[str]],
    endpoint: Endpoint,
    tls_failed: Collection[tuple[str, int]] = (),
) -> str:
    candidates = addresses.get(endpoint.host)
    if not candidates:
        return "no address (DNS failed)"
    if any((address, endpoint.port) in tls_failed for address in candidates):
        return "the TLS handshake failed (see the tls stage)"
    return f"port {endpoint.port} not reachable"


def tls_all(
    run: Run,
    target: Target,
    options: CheckOptions,
    addresses: dict[str, list[str]],
    reachable: set[tuple[str, int]],
    rescue: Rescue = lambda result, host: result,
) -> set[tuple[str, int]]:
    """Handshake on every TLS endpoint; returns the (address, port) pairs where it failed."""
    from wsdiag.checks.tls import handshake_tls

    endpoints = [e for e in (*target.websocket_paths, target.api) if e.tls]
    if not endpoints:
        run.skip(Stage.TLS, target.label, "this target does not use TLS (ws://)")
    failed: set[tuple[str, int]] = set()
    for endpoint in dict.fromkeys(endpoints):
        picked = pick_addresses(addresses.get(endpoint.host, []), endpoint.port, reachable)
        if not picked:
            run.skip(Stage.TLS, str(endpoint), _unreachable_reason(addresses, endpoint))
        for address in picked:
            # the subject handshake_tls gives its own record: [::1]:443 (issue 14)
            label = endpoint_label(address, endpoint.port)
            subject = label if endpoint.host == address else f"{endpoint.host} {label}"
            started = run.offset_ms()
            result = guarded(Stage.TLS, subject, handshake_tls, endpoint, address, options)
            if result.failed:
                failed.add((address, endpoint.port))
            run.add(rescue(result, endpoint.host), started)
    return failed


def connect_all(
    run: Run,
    target: Target,
    options: CheckOptions,
    addresses: dict[str, list[str]],
    reachable: set[tuple[str, int]],
    *,
    ping: bool = True,
    tls_failed: set[tuple[str, int]] | None = None,
    rescue: Rescue = lambda result, host: result,
) -> WorkingPath | None:
    """Upgrade and Pusher handshake on every WebSocket path; ping on the first that works.

    Each path races its reachable addresses as a client does (Happy Eyeballs).
    Addresses whose TLS handshake already failed are not tried again: the tls
    record says why, and a second wait on a silent server would double the run.
    A failure on an alternate path (ws:// on 80) while the client's own path
    (wss:// on 443) works is a warning: pusher-js never needs it.
    Returns the first path that connected, for the end-to-end checks.
    """
    tls_failed = tls_failed or set()
    usable = reachable - tls_failed
    from wsdiag.checks.ping import measure_ping
    from wsdiag.checks.websocket import open_pusher

    pinged = False
    working: WorkingPath | None = None
    for endpoint in target.websocket_paths:
        label = f"{endpoint.scheme}://{endpoint}"
        candidates = usable_addresses(addresses.get(endpoint.host, []), endpoint.port, usable)
        if not candidates:
            run.skip(Stage.WEBSOCKET, label, _unreachable_reason(addresses, endpoint, tls_failed))
            continue
        started = run.offset_ms()
        try:
            result, session = open_pusher(endpoint, candidates, target.app_key, options)
        except Exception as exc:
            run.add(internal_error(Stage.WEBSOCKET, label, exc), started)
            continue
        if result.kind is ErrorKind.PUSHER_APP_NOT_FOUND and endpoint == target.websocket:
            result = _key_elsewhere(result, target, options)
        if result.failed and working is not None and endpoint != target.websocket:
            result = _alternate_failure(result, working.endpoint)
        run.add(rescue(result, endpoint.host), started)
        if session is None:
            # Without --key the placeholder's 4001 proves the path works (no session to use)
            if isinstance(result.outcome, Handshake) and result.outcome.placeholder_key:
                working = working or WorkingPath(endpoint, tuple(candidates))
            continue
        working = working or WorkingPath(endpoint, tuple(candidates))
        try:
            if ping and not pinged and options.ping_count > 0:
                pinged = True
                run.call(Stage.PING, label, measure_ping, session, label, options)
        finally:
            session.close()
    return working


def _key_elsewhere(result: StageResult, target: Target, options: CheckOptions) -> StageResult:
    """4001, a real key, a public cluster: the fix names the cluster that knows it (issue 10)."""
    if not (target.key and target.cluster and target.is_public_cluster):
        return result
    from wsdiag.checks.clusters import with_key_cluster

    return with_key_cluster(result, target.cluster, target.key, options)


def _alternate_failure(result: StageResult, working: Endpoint) -> StageResult:
    consequence = (
        f"; {working.scheme}://{working} works and is what pusher-js uses by default, "
        "so only clients configured for this path are affected"
    )
    return replace(result, status=Status.WARN, cause=f"{result.cause}{consequence}")


def end_to_end(
    run: Run,
    target: Target,
    options: CheckOptions,
    credentials: Credentials,
    working: WorkingPath | None,
    events: int,
) -> None:
    """HTTP API, private subscription and delivery latency (``check`` with credentials)."""
    from wsdiag.checks.delivery import check_api, check_subscription_and_delivery

    api = run.call(Stage.API, f"{target.api}", check_api, target, credentials, options)
    if working is None:
        run.skip(Stage.SUBSCRIBE, target.label, "no WebSocket path works")
        run.skip(Stage.DELIVERY, target.label, "no WebSocket path works")
        return
    started = run.offset_ms()
    try:
        check_subscription_and_delivery(
            target,
            credentials,
            options,
            working.endpoint,
            working.addresses,
            run.add,
            events,
            api_failure=api if api.failed else None,
        )
    except Exception as exc:
        run.add(internal_error(Stage.DELIVERY, target.label, exc), started)


def check_target(
    target: Target,
    options: CheckOptions,
    report: Report,
    sink: ResultSink | None = None,
    stages: Sequence[Stage] = tuple(Stage),
    credentials: Credentials | None = None,
    events: int = 5,
    soak_s: float = 0.0,
    transports: Collection[str] | None = None,
    client: str | None = None,
) -> Report:
    """Run the chosen stages (all by default) and return the filled report.

    ``transports``: the client's enabledTransports (pusher-js's names); None
    for pusher-js's default, which includes the HTTP fallback. ``client``:
    pusher-js or laravel-echo, for the configuration that works from here
    (``report.client_config``); None: none.

    ``soak_s``: then hold idle connections that long on the path that worked
    (``wsdiag soak``'s three keep-alives), as the last stage.

    Later stages need earlier ones (addresses, reachable ports), so those run
    whatever ``stages`` says; ``stages`` only decides which optional layers
    run on top: reach, tls, websocket and ping.
    """
    if stages == (Stage.RESOLVE,):  # `wsdiag resolve` asks about this machine's DNS
        options = replace(options, proxy=None)
    run = Run(report, sink)
    report.notes.extend(target.notes)
    if options.proxy is not None:
        # socks5:// and socks4:// resolve the target here and hand the proxy an address;
        # the others (http://, socks5h://, socks4a://) leave the name to the proxy.
        resolves = options.proxy.scheme in ("socks5", "socks4")
        who = (
            "this machine resolves the target, the proxy" if resolves else "the proxy resolves and"
        )
        report.notes.append(
            f"through the {options.proxy.kind} {options.proxy.label} (from "
            f"{options.proxy.source}): {who} connects to it; wsdiag measures the tunnel"
        )
    addresses = resolve_all(run, target, options)
    if stages == (Stage.RESOLVE,):
        return report
    if options.proxy is None or options.proxy.resolves_here:
        options = replace(options, resolved={h: tuple(a) for h, a in addresses.items() if a})
    fallback = None
    if Stage.FALLBACK in stages and Stage.WEBSOCKET in stages:
        from wsdiag.checks.fallback import FallbackPath

        # On its own thread from here on: ready by the time a failure needs judging.
        fallback = FallbackPath.start(target, options, transports, run.offset_ms())
    rescue = fallback.rescue if fallback else (lambda result, host: result)
    reachable = reach_all(run, target, options, addresses, rescue)
    tls_failed: set[tuple[str, int]] = set()
    if Stage.TLS in stages:
        tls_failed = tls_all(run, target, options, addresses, reachable, rescue)
    working = None
    if Stage.WEBSOCKET in stages:
        working = connect_all(
            run,
            target,
            options,
            addresses,
            reachable,
            ping=Stage.PING in stages,
            tls_failed=tls_failed,
            rescue=rescue,
        )
    if fallback is not None:
        run.add(fallback.record(websocket_works=working is not None), fallback.started_ms)
    if credentials is not None and credentials.complete and Stage.DELIVERY in stages:
        end_to_end(run, target, options, credentials, working, events)
    advice = soak_stage(run, target, options, working, soak_s) if soak_s > 0 else None
    if client is not None:
        from wsdiag.clientconfig import PathFacts, client_config

        connected = fallback is not None and fallback.works()
        facts = PathFacts(target, working.endpoint if working else None, connected, advice)
        report.client_config = client_config(facts, client)
    return report


def soak_stage(
    run: Run, target: Target, options: CheckOptions, working: WorkingPath | None, seconds: float
) -> int | None:
    """``check --soak``: the idle-timeout probe on the path that connected.

    Returns the ``activityTimeout`` (seconds) it advises, None when none is needed.
    """
    from wsdiag.checks.soak import figures, run_soak

    if working is None:
        run.skip(Stage.SOAK, target.label, "no WebSocket path works")
        return None
    if not target.key:
        run.skip(Stage.SOAK, target.label, "soak needs the app key: --key or PUSHER_APP_KEY")
        return None
    endpoint = working.endpoint
    started = run.offset_ms()
    try:
        found = run_soak(endpoint, target.key, options, seconds, addresses=working.addresses)
    except Exception as exc:
        run.add(internal_error(Stage.SOAK, endpoint.url, exc), started)
        return None
    result = StageResult(
        Stage.SOAK,
        endpoint.url,
        found.status,
        found.summary,
        found.kind,
        found.cause,
        found.fix,
        figures(found),
        (Phase("soak", round(found.duration_s * 1000, 3)),),
    )
    run.add(result, started)
    return found.activity_timeout_s


def path_summary(report: Report, path: str) -> PathSummary:
    """One run of the check as one path's line: its verdict, handshake time and ping."""
    from wsdiag.models import Latency
    from wsdiag.render.verdict import verdict

    handshake = next(
        (
            r.elapsed_ms
            for r in report.results
            if r.stage is Stage.WEBSOCKET and r.status is Status.OK
        ),
        None,
    )
    ping = next(
        (
            r.outcome.median
            for r in report.results
            if isinstance(r.outcome, Latency) and r.stage is Stage.PING
        ),
        None,
    )
    return PathSummary(path, report.status, verdict(report), handshake, ping)
