"""CI thresholds applied to a finished report: ``--max-latency-ms`` and ``--fail-on warn``."""

from __future__ import annotations

from wsdiag.models import ErrorKind, Latency, Report, Stage, StageResult, Status

LATENCY_STAGES = (Stage.PING, Stage.DELIVERY)


def latency_findings(report: Report, max_latency_ms: float) -> list[StageResult]:
    """A failure for each ping / end-to-end result whose p95 is over the limit.

    p95 rather than the median: a pipeline gate should catch a slow tail, and
    with few samples p95 is the slowest one, which is what a user feels.
    """
    findings = []
    for result in report.results:
        latency = result.outcome
        if result.stage not in LATENCY_STAGES or not isinstance(latency, Latency):
            continue
        p95, median = latency.p95, latency.median
        if p95 is None:
            continue
        if p95 > max_latency_ms:
            findings.append(
                StageResult(
                    result.stage,
                    result.subject,
                    Status.FAIL,
                    f"p95 {p95:.0f} ms is over --max-latency-ms {max_latency_ms:g}",
                    kind=ErrorKind.LATENCY_EXCEEDED,
                    cause=f"round trips are slower than the {max_latency_ms:g} ms this run allows "
                    f"(median {median or 0:.0f} ms, p95 {p95:.0f} ms)",
                    fix="run from closer to the cluster, pick a nearer cluster, or look for a slow "
                    "proxy on the path; raise the limit if this is expected",
                    details={"limit_ms": max_latency_ms, "p95": p95},
                )
            )
    return findings
