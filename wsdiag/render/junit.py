"""``--junit FILE``: one testcase per result, so CI dashboards show each stage and address.

failed → <failure>, skipped → <skipped>, warn → passes with the warning in <system-out>
(``--fail-on warn`` changes the exit code, not the XML).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from wsdiag.models import Report, Status


def render_junit(report: Report) -> str:
    suite = ET.Element(
        "testsuite",
        name=f"wsdiag {report.command} {report.target}",
        tests=str(len(report.results)),
        failures=str(sum(r.status is Status.FAIL for r in report.results)),
        skipped=str(sum(r.status is Status.SKIPPED for r in report.results)),
        errors="0",
        time=f"{sum(r.elapsed_ms for r in report.results) / 1000:.3f}",
    )
    for result in report.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"wsdiag.{result.stage}",
            name=result.subject,
            time=f"{result.elapsed_ms / 1000:.3f}",
        )
        explanation = "\n".join(
            line
            for line in (
                result.summary,
                f"cause: {result.cause}" if result.cause else "",
                f"fix: {result.fix}" if result.fix else "",
            )
            if line
        )
        if result.status is Status.FAIL:
            failure = ET.SubElement(
                case, "failure", message=result.cause or result.summary, type=str(result.kind or "")
            )
            failure.text = explanation
        elif result.status is Status.SKIPPED:
            ET.SubElement(case, "skipped", message=result.summary)
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(
            [
                f"status: {result.status}",
                explanation if result.status is not Status.FAIL else "",
                "phases: " + ", ".join(f"{p.name}={p.ms:.1f}ms" for p in result.phases),
                "details: " + json.dumps(dict(result.details), ensure_ascii=False),
            ]
        )
    if report.interrupted:
        suite.set("interrupted", "true")
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )
