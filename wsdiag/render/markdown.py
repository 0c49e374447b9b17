"""A report as GitHub-flavoured Markdown: job summaries, issue comments, chat.

The verdict first, then one table row per record, then the first failure's
and each warning's cause and fix, the notes, and the client configuration
that works (collapsed). Plain text inside the table is escaped so a cause
with ``|`` or a newline cannot break a row.
"""

from __future__ import annotations

from wsdiag.models import Report, Status
from wsdiag.render.verdict import verdict
from wsdiag.units import ms_text

_MARK = {Status.OK: "✅", Status.WARN: "⚠️", Status.FAIL: "❌", Status.SKIPPED: "⏭️"}


def render_markdown(report: Report) -> str:
    status = "interrupted" if report.interrupted else str(report.status)
    mark = "⏹️" if report.interrupted else _MARK[report.status]
    lines = [
        f"### {mark} wsdiag {report.command} `{_code(report.target)}`: {status.upper()}",
        "",
        f"**{_cell(verdict(report))}**",
        "",
        "| stage | subject | status | ms | result |",
        "|---|---|---|---:|---|",
    ]
    for result in report.results:
        ms = ms_text(result.elapsed_ms) if result.phases else ""
        kind = f" `{result.kind}`" if result.kind else ""
        lines.append(
            f"| {result.stage} | {_cell(result.subject)} | {_MARK[result.status]} "
            f"{result.status} | {ms} | {_cell(result.summary)}{kind} |"
        )
    failure = report.first_failure
    explained = [failure] if failure else []
    explained += [r for r in report.results if r.status is Status.WARN]
    for result in explained:
        title = "First failure" if result is failure else "Warning"
        lines += [
            "",
            f"**{title}: {result.stage} {_cell(result.subject)}**"
            + (f" `{result.kind}`" if result.kind else ""),
        ]
        if result.cause:
            lines.append(f"- cause: {_cell(result.cause)}")
        if result.fix:
            lines.append(f"- fix: {_cell(result.fix)}")
    if report.notes:
        lines.append("")
        lines += [f"> note: {_cell(note)}" for note in report.notes]
    if report.comparison:
        lines += ["", "| path | verdict | handshake ms | ping median ms |", "|---|---|---:|---:|"]
        for path in report.comparison:
            handshake = ms_text(path.handshake_ms) if path.handshake_ms is not None else ""
            ping = ms_text(path.ping_ms) if path.ping_ms is not None else ""
            lines.append(
                f"| {_cell(path.path)} | {_MARK[path.status]} {_cell(path.verdict)} | "
                f"{handshake} | {ping} |"
            )
    config = report.client_config
    if config is not None and not report.interrupted:
        lines += [
            "",
            f"<details><summary>{config.client} configuration that works from here</summary>",
            "",
            "```js",
            config.snippet,
            "```",
            "</details>",
        ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    """Text that stays in its table cell or paragraph: pipes escaped, lines joined."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


def _code(text: str) -> str:
    return text.replace("`", "'")
