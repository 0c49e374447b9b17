"""The human report: a waterfall of stage timings, the first failure with cause and fix, a verdict.

On a terminal the table grows live as results arrive; elsewhere it is printed
once at the end. rich drops colour by itself when stdout is not a terminal or
``NO_COLOR`` is set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from wsdiag import __version__
from wsdiag.models import Report, StageResult, Status
from wsdiag.render.verdict import verdict

STATUS_STYLE = {
    Status.OK: ("ok", "green"),
    Status.WARN: ("warn", "yellow"),
    Status.FAIL: ("FAIL", "bold red"),
    Status.SKIPPED: ("skip", "dim"),
}
PHASE_COLOURS = ("cyan", "magenta", "blue", "green", "yellow")
BAR_WIDTH = 24


class ConsoleRenderer:
    def __init__(self, console: Console, *, detailed: bool = False, debug: bool = False) -> None:
        self.console = console
        self.detailed = detailed
        self.debug = debug
        self._live: Live | None = None
        self._report: Report | None = None
        self._notes_shown = 0

    def start(self, report: Report) -> None:
        self._report = report
        self.console.print(
            Text.assemble(
                ("wsdiag ", "bold"),
                f"{report.command} {report.target}",
                (f"  v{__version__}", "dim"),
            )
        )
        self._print_notes(report)
        if self.console.is_terminal:
            self._live = Live(
                self._table(report.results),
                console=self.console,
                auto_refresh=False,
                transient=True,
            )
            self._live.start()

    def on_result(self, result: StageResult) -> None:
        if self._live is not None and self._report is not None:
            self._live.update(self._table(self._report.results), refresh=True)

    def finish(self, report: Report, exit_code: int) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        self._print_notes(report)  # the run may have added some (target, proxy)
        self.console.print(self._table(report.results))
        if self.detailed:
            for result in report.results:
                self.console.print(_details_block(result))
        self.console.print(_explanation(report, debug=self.debug))
        style = {Status.OK: "bold green", Status.WARN: "bold yellow"}.get(report.status, "bold red")
        self.console.print(
            Text(verdict(report), style=style if not report.interrupted else "bold red")
        )

    def _print_notes(self, report: Report) -> None:
        for note in report.notes[self._notes_shown :]:
            self.console.print(Text(f"note: {note}", style="yellow"))
        self._notes_shown = len(report.notes)

    def _table(self, results: Sequence[StageResult]) -> Table:
        table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
        bar_width = _bar_width(self.console.width)
        for name, kwargs in (
            ("stage", {"no_wrap": True}),
            ("subject", {"overflow": "fold", "min_width": 20}),
            ("", {"no_wrap": True}),
            ("ms", {"justify": "right", "no_wrap": True}),
            *((("waterfall", {"no_wrap": True}),) if bar_width else ()),
            ("result", {"overflow": "fold", "ratio": 1}),
        ):
            table.add_column(name, **kwargs)
        end = max(((r.started_ms or 0) + r.elapsed_ms for r in results), default=0) or 1
        for result in results:
            label, style = STATUS_STYLE[result.status]
            cells: list[Any] = [
                str(result.stage),
                result.subject,
                Text(label, style=style),
                f"{result.elapsed_ms:.0f}" if result.phases else "",
            ]
            if bar_width:
                cells.append(_bar(result, end, bar_width))
            table.add_row(*cells, result.summary)
        return table


def _bar_width(console_width: int) -> int:
    """A waterfall only when there is room for it beside the text that matters more."""
    if console_width >= 140:
        return 24
    return 16 if console_width >= 110 else 0


def _bar(result: StageResult, end: float, width: int = BAR_WIDTH) -> Text:
    """Where in the run this result's phases happened, to scale, one colour per phase."""
    text = Text(" " * int((result.started_ms or 0) / end * width))
    for index, phase in enumerate(result.phases):
        cells = round(phase.ms / end * width)
        if (
            cells == 0
            and phase.ms > 0
            and index == len(result.phases) - 1
            and not text.plain.strip()
        ):
            cells = 1  # keep every timed row visible
        text.append("█" * cells, style=PHASE_COLOURS[index % len(PHASE_COLOURS)])
    text.truncate(width)
    return text


def _explanation(report: Report, *, debug: bool) -> RenderableType:
    """The first failure (or warning) spelled out: cause and fix."""
    parts: list[RenderableType] = []
    first = report.first_failure or report.first_warning
    if first is not None:
        head = "First failure" if first.status is Status.FAIL else "Warning"
        kind = f" [{first.kind}]" if first.kind else ""
        parts.append(Text(f"\n{head}: {first.stage} {first.subject}{kind}", style="bold"))
        if first.cause:
            parts.append(Text.assemble(("  cause: ", "bold"), first.cause))
        if first.fix:
            parts.append(Text.assemble(("  fix:   ", "bold"), first.fix))
    failures = [r for r in report.results if r.status is Status.FAIL]
    if len(failures) > 1:
        parts.append(
            Text(
                f"  ({len(failures) - 1} more failure(s) in the table; --json has them all)",
                style="dim",
            )
        )
    if debug:
        parts += [Text(r.trace, style="dim") for r in report.results if r.trace]
    parts.append(Text(""))
    return Group(*parts)


def _details_block(result: StageResult) -> RenderableType:
    lines = [Text(f"\n{result.stage} {result.subject}", style="bold")]
    if result.cause:
        lines.append(Text(f"  cause: {result.cause}"))
    if result.fix:
        lines.append(Text(f"  fix: {result.fix}"))
    if result.phases:
        lines.append(
            Text("  phases: " + ", ".join(f"{p.name} {p.ms:.1f} ms" for p in result.phases))
        )
    lines += [Text(line) for line in _flatten(result.details, indent=2)]
    return Group(*lines)


def _flatten(value: Mapping[str, Any], indent: int) -> list[str]:
    lines: list[str] = []
    pad = " " * indent
    for key, item in value.items():
        if isinstance(item, Mapping):
            lines.append(f"{pad}{key}:")
            lines += _flatten(item, indent + 2)
        elif isinstance(item, list) and item and all(isinstance(i, Mapping) for i in item):
            lines.append(f"{pad}{key}:")
            lines += [
                f"{pad}  - " + ", ".join(f"{k}={_scalar(v)}" for k, v in i.items()) for i in item
            ]
        elif isinstance(item, list):
            lines.append(f"{pad}{key}: " + (", ".join(_scalar(i) for i in item) or "none"))
        else:
            lines.append(f"{pad}{key}: {_scalar(item)}")
    return lines


def _scalar(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    return str(value).replace("\n", "\\n")  # one line per detail: newlines shown as \n
