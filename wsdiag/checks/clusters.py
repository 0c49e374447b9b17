"""Every public cluster probed side by side: which is nearest, and which one knows a key.

Pusher answers a key that lives on another cluster with 4001 ("App key X not in
this cluster"), the error people spend days on (pusher-js#157, #274; issue 10).
Each cluster gets the stages ``check`` runs on its client path — resolve, then
``open_pusher`` (TCP, TLS, upgrade, Pusher handshake through the dialer) and
``measure_ping`` — on daemon threads (``map_bounded``), so the answer takes the
slowest cluster's time, not the sum, and Ctrl-C exits at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from wsdiag.checks import CheckOptions
from wsdiag.models import ErrorKind, Handshake, Latency, Stage, StageResult, Status
from wsdiag.records import record
from wsdiag.target import PLACEHOLDER_KEY, PUBLIC_CLUSTERS, cluster_target


@record
class ClusterResult:
    """One cluster's probe: its stage records, and what they say about reach and the key."""

    cluster: str
    host: str
    results: tuple[StageResult, ...]

    @property
    def region(self) -> str:
        return PUBLIC_CLUSTERS.get(self.cluster, "")

    @property
    def handshake(self) -> Handshake | None:
        for result in self.results:
            if result.stage is Stage.WEBSOCKET and isinstance(result.outcome, Handshake):
                return result.outcome
        return None

    @property
    def reachable(self) -> bool:
        """The Pusher service answered: connection_established, or a Pusher code (4001 for a
        key it does not know, 4003/4004/41xx for an app it knows but refuses)."""
        shake = self.handshake
        if shake is None:
            return False
        code = shake.close_code
        return shake.socket_id is not None or (code is not None and 4000 <= code < 4300)

    @property
    def key_accepted(self) -> bool | None:
        """True: connection_established for a real key; False: 4001; None: not known."""
        shake = self.handshake
        if shake is None or shake.placeholder_key:
            return None
        if shake.socket_id is not None or shake.close_code in _APP_KNOWN:
            return True  # the key's app lives here (4003/4004/41xx: it refused us)
        return False if shake.close_code == 4001 else None

    @property
    def latency(self) -> Latency | None:
        for result in self.results:
            if result.stage is Stage.PING and isinstance(result.outcome, Latency):
                return result.outcome
        return None

    @property
    def median_ms(self) -> float | None:
        latency = self.latency
        return latency.median if latency else None

    @property
    def handshake_ms(self) -> float | None:
        """Connect, TLS, upgrade and the Pusher handshake's answer: the time every reachable
        cluster has, pinged or not (a ping needs a key the cluster accepts)."""
        if not self.reachable:
            return None
        return next((r.elapsed_ms for r in self.results if r.stage is Stage.WEBSOCKET), None)

    @property
    def failure(self) -> StageResult | None:
        return next((r for r in self.results if r.status is Status.FAIL), None)

    @property
    def status(self) -> Status:
        """How the path to this cluster fares; a 4001 to --key is an answer, not a fault."""
        if not self.reachable:
            return Status.FAIL
        faults = [r for r in self.results if r.kind is not ErrorKind.PUSHER_APP_NOT_FOUND]
        if any(r.status in (Status.FAIL, Status.WARN) for r in faults):
            return Status.WARN
        return Status.OK


_APP_KNOWN = frozenset({4003, 4004, *range(4100, 4200)})


def probe_cluster(cluster: str, key: str | None, options: CheckOptions) -> ClusterResult:
    """Resolve, connect (TCP, TLS, upgrade, handshake) and ping one cluster's wss:// path."""
    from wsdiag.checks.ping import measure_ping
    from wsdiag.checks.resolve import addresses_of, resolve_host
    from wsdiag.checks.runner import guarded, internal_error
    from wsdiag.checks.websocket import open_pusher

    target = cluster_target(cluster, key)
    endpoint = target.websocket
    results: list[StageResult] = []
    addresses: list[str] | None = None  # through a proxy: the proxy resolves
    if options.proxy is None:
        resolved = guarded(Stage.RESOLVE, endpoint.host, resolve_host, endpoint.host, options, True)
        results.append(resolved)
        if resolved.failed:
            return ClusterResult(cluster, endpoint.host, tuple(results))
        addresses = addresses_of(resolved)
    label = endpoint.url
    try:
        connected, session = open_pusher(endpoint, addresses, target.app_key, options)
    except Exception as exc:  # a bug: a record, never a traceback on another thread
        connected, session = internal_error(Stage.WEBSOCKET, label, exc), None
    results.append(connected)
    if session is not None:
        try:
            if options.ping_count > 0:
                results.append(guarded(Stage.PING, label, measure_ping, session, label, options))
        finally:
            session.close()
    return ClusterResult(cluster, endpoint.host, tuple(results))


def probe_clusters(
    key: str | None,
    options: CheckOptions,
    clusters: Sequence[str] = tuple(PUBLIC_CLUSTERS),
    limit: int = len(PUBLIC_CLUSTERS),
) -> list[ClusterResult]:
    """Every cluster at once (at most ``limit`` at a time), in the order given."""
    from wsdiag.concurrency import map_bounded

    def probe(cluster: str) -> ClusterResult:
        return probe_cluster(cluster, key, options)

    return map_bounded(probe, list(clusters), limit, "wsdiag-cluster")


def ranked(results: Sequence[ClusterResult]) -> list[ClusterResult]:
    """Reachable clusters by median ping (those without one after them), then the others."""

    def order(item: ClusterResult) -> tuple[int, float]:
        if not item.reachable:
            return (2, 0.0)
        median = item.median_ms
        return (0, median) if median is not None else (1, item.handshake_ms or 0.0)

    return sorted(results, key=order)  # stable: ties keep the given order


def nearest(results: Sequence[ClusterResult]) -> ClusterResult | None:
    """The reachable cluster with the lowest median ping; without any ping (no key a
    cluster accepts, or --pings 0), the one that answered the handshake soonest."""
    first = ranked(results)
    return first[0] if first and first[0].reachable else None


def key_clusters(results: Sequence[ClusterResult]) -> list[str]:
    """The clusters that accepted the key (connection_established)."""
    return [r.cluster for r in results if r.key_accepted]


# ---------------------------------------------------------------- the hook in check


def with_key_cluster(
    result: StageResult, cluster: str, key: str, options: CheckOptions
) -> StageResult:
    """A 4001 on a public cluster with a real key: ask the other clusters who knows it.

    The fix then names the cluster to configure (issue 10), or says that none
    of the public clusters knows the key. Any trouble keeps the original record.
    """
    if key == PLACEHOLDER_KEY or result.kind is not ErrorKind.PUSHER_APP_NOT_FOUND:
        return result
    others = [c for c in PUBLIC_CLUSTERS if c != cluster]
    try:
        found = probe_clusters(key, replace(options, ping_count=0, resolved={}), others)
    except Exception:  # the discovery is a hint: a bug in it must not hide the 4001
        return result
    return replace(result, fix=key_cluster_fix(cluster, found, result.fix))


def key_cluster_fix(cluster: str, found: Sequence[ClusterResult], fix: str | None) -> str:
    owners = key_clusters(found)
    if len(owners) == 1:
        owner = owners[0]
        return (
            f"this key belongs to {owner}, not {cluster}: set cluster: '{owner}' / "
            f"PUSHER_APP_CLUSTER={owner}"
        )
    if owners:
        return (
            f"this key is accepted by {', '.join(owners)}, not {cluster}: set cluster: "
            f"'{owners[0]}' / PUSHER_APP_CLUSTER={owners[0]} (the one your app was created in)"
        )
    unreached = [r.cluster for r in found if not r.reachable]
    tail = f" ({', '.join(unreached)} could not be reached)" if unreached else ""
    asked = "no other public cluster accepts this key either" + tail
    return f"{asked}; {fix}" if fix else asked
