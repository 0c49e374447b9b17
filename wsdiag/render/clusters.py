"""``wsdiag clusters`` as text and as JSON.

The table is plain fixed-width text (no rich): nine rows need no layout engine,
and the command stays as quick to start as ``--help``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsdiag.checks.clusters import ClusterResult

SCHEMA_VERSION = 1


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _key_word(result: ClusterResult) -> str:
    return {True: "accepted", False: "4001", None: ""}[result.key_accepted]


def _answer(result: ClusterResult) -> str:
    if result.key_accepted is False:
        return "4001: this key is not in this cluster"
    failure = result.failure
    if failure is not None:
        return f"{failure.stage}: {failure.summary}"
    latency = result.latency
    if latency and latency.samples_ms:
        return f"{len(latency.samples_ms)} pongs, p95 {_ms(latency.p95)} ms"
    return "reached Pusher"


def clusters_lines(
    found: Sequence[ClusterResult], key: str | None, notes: Sequence[str]
) -> list[str]:
    """The table (ranked), then the nearest cluster and the key's cluster in words."""
    from wsdiag.checks.clusters import key_clusters, nearest

    lines = [f"note: {note}" for note in notes]
    header = f"{'cluster':<8} {'region':<12} {'status':<6} {'median ms':>9}"
    header += f"  {'key':<8}" if key else ""
    lines.append(f"{header}  answer")
    for result in found:
        row = f"{result.cluster:<8} {result.region:<12} {result.status.value:<6} "
        row += f"{_ms(result.median_ms):>9}"
        row += f"  {_key_word(result):<8}" if key else ""
        lines.append(f"{row}  {_answer(result)}")
    lines.append("")
    best = nearest(found)
    reachable = [r.cluster for r in found if r.reachable]
    if not reachable:
        lines.append("FAIL: no cluster could be reached (see the answer column)")
        return lines
    if best is not None and best.median_ms is not None:
        lines.append(
            f"Nearest: {best.cluster} ({best.region}), ping median {_ms(best.median_ms)} ms"
        )
    elif best is not None:
        lines.append(
            f"Nearest: {best.cluster} ({best.region}), handshake answered in "
            f"{_ms(best.handshake_ms)} ms (no ping: a ping needs a key the cluster accepts)"
        )
    if key:
        owners = key_clusters(found)
        rejected = [r.cluster for r in found if r.key_accepted is False]
        if owners:
            lines.append(
                f"Key: accepted by {', '.join(owners)}: set cluster: '{owners[0]}' / "
                f"PUSHER_APP_CLUSTER={owners[0]}"
            )
        else:
            lines.append("Key: no reachable public cluster accepts this key (check the key)")
        if rejected:
            lines.append(f"     4001 (not in this cluster) from {', '.join(rejected)}")
    return lines


def clusters_document(
    found: Sequence[ClusterResult], key: str | None, notes: Sequence[str]
) -> dict[str, Any]:
    """The JSON report: numbers in ms, enums as strings (as the check report)."""
    from wsdiag.checks.clusters import key_clusters, nearest

    best = nearest(found)
    reachable = any(r.reachable for r in found)
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "clusters",
        "status": "ok" if reachable else "fail",
        "notes": list(notes),
        "nearest": best.cluster if best else None,
        "key_given": key is not None,
        "key_clusters": key_clusters(found) if key else None,
        "key_rejected_by": [r.cluster for r in found if r.key_accepted is False] if key else None,
        "clusters": [_cluster_json(r) for r in found],
    }


def _cluster_json(result: ClusterResult) -> dict[str, Any]:
    latency = result.latency
    failure = result.failure
    return {
        "cluster": result.cluster,
        "region": result.region,
        "host": result.host,
        "status": result.status.value,
        "reachable": result.reachable,
        "key": _key_word(result) or None,
        "median_ms": result.median_ms,
        "p95_ms": latency.p95 if latency else None,
        "samples_ms": list(latency.samples_ms) if latency else [],
        "kind": failure.kind.value if failure and failure.kind else None,
        "summary": _answer(result),
        "cause": failure.cause if failure else None,
        "fix": failure.fix if failure else None,
        "stages": [
            {
                "stage": r.stage.value,
                "subject": r.subject,
                "status": r.status.value,
                "summary": r.summary,
                "kind": r.kind.value if r.kind else None,
                "phases": {p.name: p.ms for p in r.phases},
            }
            for r in result.results
        ],
    }
