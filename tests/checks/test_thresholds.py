"""--max-latency-ms: judged and written at the precision the reports keep (issue 14)."""

from __future__ import annotations

import pytest

from wsdiag.checks.thresholds import latency_findings
from wsdiag.models import ErrorKind, Latency, Report, Stage, StageResult, Status


def report_with_p95(p95: float, median: float = 0.3) -> Report:
    report = Report(command="check", target="ws://127.0.0.1:6001")
    report.results.append(
        StageResult(
            Stage.PING,
            "ws://127.0.0.1:6001",
            Status.OK,
            "5 pongs",
            outcome=Latency((median, p95), median, p95),
        )
    )
    return report


@pytest.mark.parametrize(
    ("p95", "limit", "shown"),
    [
        (0.6, 0.5, "0.6"),  # was "p95 1 ms is over --max-latency-ms 0.5"
        (0.52, 0.5, "0.52"),  # one decimal would read "0.5 is over 0.5"
        (0.501, 0.5, "0.501"),
        (1.04, 1, "1.04"),
        (350.26, 300, "350.3"),
    ],
)
def test_p95_is_written_with_the_decimals_that_show_it_is_over(
    p95: float, limit: float, shown: str
) -> None:
    (finding,) = latency_findings(report_with_p95(p95), limit)
    assert finding.status is Status.FAIL
    assert finding.kind is ErrorKind.LATENCY_EXCEEDED
    assert finding.summary == f"p95 {shown} ms is over --max-latency-ms {limit:g}"
    assert finding.cause is not None and f"p95 {shown} ms)" in finding.cause


@pytest.mark.parametrize(("p95", "limit"), [(0.5, 0.5), (0.5004, 0.5), (0.4, 0.5), (299.9996, 300)])
def test_not_over_at_the_precision_reports_keep(p95: float, limit: float) -> None:
    """Over by less than the 3 decimals JSON keeps is not over: no report could show it."""
    assert latency_findings(report_with_p95(p95), limit) == []


def test_median_has_one_decimal() -> None:
    (finding,) = latency_findings(report_with_p95(0.9, median=0.44), 0.5)
    assert finding.cause is not None and "(median 0.4 ms, p95 0.9 ms)" in finding.cause
