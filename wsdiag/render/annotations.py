"""GitHub Actions workflow commands (``::error title=…::…``) for failures and warnings.

Emitted when ``GITHUB_ACTIONS=true`` so a failed check shows on the run's
summary page. Escaping follows GitHub's workflow-command rules.
"""

from __future__ import annotations

from wsdiag.models import Report, Status


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(report: Report) -> list[str]:
    lines = []
    for result in report.results:
        if result.status not in (Status.FAIL, Status.WARN):
            continue
        level = "error" if result.status is Status.FAIL else "warning"
        kind = f" [{result.kind}]" if result.kind else ""
        title = _escape_property(f"wsdiag {result.stage}{kind}: {result.subject}")
        message = result.cause or result.summary
        if result.fix:
            message += f" — fix: {result.fix}"
        lines.append(f"::{level} title={title}::{_escape_data(message)}")
    return lines
