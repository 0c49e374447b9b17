"""CI thresholds applied to a finished report: ``--max-latency-ms`` and ``--fail-on warn``."""

from __future__ import annotations

from wsdiag.models import ErrorKind, Latency, Report, Stage, StageResult, Status
from wsdiag.units import exceeds, ms_over, ms_text

LATENCY_STAGES = (Stage.PING, Stage.DELIVERY)


def latency_findings(report: Report, max_latency_ms: float) -> list[StageResult]:
    """A failure for each ping / end-to-end result whose p95 is over the limit.

    p95 rather than the median: a pipeline gate should catch a slow tail, and
    with few samples p95 is the slowest one, which is what a user feels. The
    comparison is made at the precision the reports keep (3 decimals of a ms),
    and p95 is written with the decimals that show it is over (issue 14: never
    "p95 1 ms is over --max-latency-ms 0.5" for a p95 of 0.6).
    """
    findings = []
    for result in report.results:
        latency = result.outcome
        if result.stage not in LATENCY_STAGES or not isinstance(latency, Latency):
            continue
        p95, median = latency.p95, latency.median
        if p95 is None or not exceeds(p95, max_latency_ms):
            continue
        shown = ms_over(p95, max_latency_ms)
        findings.append(
            StageResult(
                result.stage,
                result.subject,
                Status.FAIL,
                f"p95 {shown} ms is over --max-latency-ms {max_latency_ms:g}",
                kind=ErrorKind.LATENCY_EXCEEDED,
                cause=f"round trips are slower than the {max_latency_ms:g} ms this run allows "
                f"(median {ms_text(median or 0)} ms, p95 {shown} ms)",
                fix="run from closer to the cluster, pick a nearer cluster, or look for a slow "
                "proxy on the path; raise the limit if this is expected",
                details={"limit_ms": max_latency_ms, "p95": p95},
            )
        )
    return findings
