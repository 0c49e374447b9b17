"""The ``--json`` report: one JSON document on stdout.

Its schema is ``wsdiag/schema/report-v2.json`` (v1, for reports of wsdiag before
issue 9, is kept beside it).

Numbers are milliseconds rounded to 3 decimals (what the monotonic clock measures;
never ``-0``), enums are their string values, timestamps are ISO 8601 UTC. An
interrupted run's ``status`` is ``interrupted``: its results are partial, so
neither "ok" nor the "skipped" of a run that checked nothing would be true.
Bump SCHEMA_VERSION (and add a new schema file) for any change a consumer could trip on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from wsdiag import __version__
from wsdiag.models import Report, StageResult
from wsdiag.render.verdict import verdict
from wsdiag.units import json_numbers

SCHEMA_VERSION = 2


def result_to_dict(result: StageResult, *, debug: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "stage": str(result.stage),
        "subject": result.subject,
        "status": str(result.status),
        "kind": str(result.kind) if result.kind else None,
        "summary": result.summary,
        "cause": result.cause,
        "fix": result.fix,
        "started_ms": result.started_ms,
        "elapsed_ms": result.elapsed_ms,
        "phases": [{"name": p.name, "ms": p.ms} for p in result.phases],
        "details": dict(result.details),
    }
    if debug and result.trace:
        data["trace"] = result.trace
    return data


def report_to_dict(report: Report, exit_code: int, *, debug: bool = False) -> dict[str, Any]:
    failure = report.first_failure
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "wsdiag", "version": __version__},
        "command": report.command,
        "target": report.target,
        "started_at": datetime.fromtimestamp(report.started_at, UTC).isoformat(),
        "status": "interrupted" if report.interrupted else str(report.status),
        "verdict": verdict(report),
        "exit_code": exit_code,
        "interrupted": report.interrupted,
        "notes": list(report.notes),
        "first_failure": report.results.index(failure) if failure else None,
        "results": [result_to_dict(r, debug=debug) for r in report.results],
    }
    if report.comparison:
        document["compare_direct"] = [
            {
                "path": path.path,
                "status": str(path.status),
                "verdict": path.verdict,
                "handshake_ms": path.handshake_ms,
                "ping_median_ms": path.ping_ms,
            }
            for path in report.comparison
        ]
    config = report.client_config
    if config is not None:
        document["client_config"] = {
            "client": config.client,
            "options": dict(config.options),
            "snippet": config.snippet,
        }
    return dict(json_numbers(document))


def render_json(report: Report, exit_code: int, *, debug: bool = False) -> str:
    return json.dumps(report_to_dict(report, exit_code, debug=debug), indent=2, ensure_ascii=False)
