"""The human report: a waterfall of stage timings, the first failure with cause and fix, a verdict.

Laid out for the width it has (issue 14): a table from 70 columns — the subject
column as narrow as its longest token allows, the rest to the result — and one
block per record below that, or when a column would have to split a word.
Lines break at spaces only (``wsdiag.render.text``) and end without spaces;
values meant to be copied (a ``string_to_sign``, a URL) sit on lines of their
own. Milliseconds have one decimal everywhere (``wsdiag.units``). Notes go to
stderr, as in every command and every format, so stdout is the report alone.

On a terminal the table grows live as results arrive; elsewhere it is printed
once at the end. rich drops colour by itself when stdout is not a terminal or
``NO_COLOR`` is set.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from wsdiag import __version__
from wsdiag.models import Report, Stage, StageResult, Status
from wsdiag.records import record
from wsdiag.render.text import (
    labelled,
    longest_line,
    longest_token,
    styled,
    wrap,
    wrap_items,
)
from wsdiag.render.verdict import verdict
from wsdiag.units import ms_text

STATUS_STYLE = {
    Status.OK: ("ok", "green"),
    Status.WARN: ("warn", "yellow"),
    Status.FAIL: ("FAIL", "bold red"),
    Status.SKIPPED: ("skip", "dim"),
}
PHASE_COLOURS = ("cyan", "magenta", "blue", "green", "yellow")
BAR_WIDTH = 24
STACK_BELOW = 70  # columns: a narrower report is one block per record
MIN_RESULT = 24  # a result column narrower than this reads worse than blocks
GAP = "  "
# Detail values a user copies into another tool: always on a line of their own.
COPYABLE_KEYS = frozenset({"string_to_sign", "url", "signature", "auth"})
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)


class ConsoleRenderer:
    def __init__(
        self,
        console: Console,
        *,
        err_console: Console | None = None,
        detailed: bool = False,
        debug: bool = False,
    ) -> None:
        self.console = console
        self.err = err_console or Console(stderr=True, highlight=False)
        self.detailed = detailed
        self.debug = debug
        self._live: Live | None = None
        self._report: Report | None = None
        self._notes_shown = 0

    def start(self, report: Report) -> None:
        self._report = report
        self._print_notes(report)
        self._print(_header(report, self.console.width))
        if self.console.is_terminal:
            self._live = Live(
                Group(*self._table(report.results)),
                console=self.console,
                auto_refresh=False,
                transient=True,
            )
            self._live.start()

    def on_result(self, result: StageResult) -> None:
        if self._live is not None and self._report is not None:
            self._live.update(Group(*self._table(self._report.results)), refresh=True)

    def finish(self, report: Report, exit_code: int) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        self._print_notes(report)  # the run may have added some (target, proxy)
        width = self.console.width
        lines = self._table(report.results)
        if self.detailed:
            for result in report.results:
                lines += _details_block(result, width)
        lines += _explanation(report, width, debug=self.debug)
        style = {Status.OK: "bold green", Status.WARN: "bold yellow"}.get(report.status, "bold red")
        style = "bold red" if report.interrupted else style
        lines += styled(wrap(verdict(report), width, hang="  "), style)
        lines += _comparison(report, width)
        lines += _client_config(report)
        self._print(lines)

    def _print(self, lines: Sequence[Text]) -> None:
        for line in lines:
            # soft_wrap: laid out already; rich must neither re-wrap nor crop a long token
            self.console.print(line, soft_wrap=True)

    def _print_notes(self, report: Report) -> None:
        for note in report.notes[self._notes_shown :]:
            for line in wrap(f"note: {note}", self.err.width, hang="      "):
                self.err.print(Text(line, style="yellow"), soft_wrap=True)
        self._notes_shown = len(report.notes)

    def _table(self, results: Sequence[StageResult]) -> list[Text]:
        width = self.console.width
        columns = _columns(results, width)
        if columns is None:
            return _blocks(results, width)
        end = max(((r.started_ms or 0) + r.elapsed_ms for r in results), default=0) or 1
        lines = [columns.header()]
        for result in results:
            lines += columns.row(result, end)
        return lines


def _header(report: Report, width: int) -> list[Text]:
    version = f"v{__version__}"
    text = f"wsdiag {report.command} {report.target}  {version}"
    lines = styled(wrap(text, width, hang="  "), "")
    lines[0].stylize("bold", 0, len("wsdiag"))
    lines[-1].stylize("dim", len(lines[-1]) - len(version))
    return lines


def _ms_cell(result: StageResult) -> str:
    return ms_text(result.elapsed_ms) if result.phases else ""


@record
class _Columns:
    """Column widths of the table; the result column takes what is left."""

    stage: int
    subject: int
    status: int
    ms: int
    bar: int
    result: int

    def header(self) -> Text:
        line = Text(style="bold")
        line.append("stage".ljust(self.stage) + GAP + "subject".ljust(self.subject) + GAP)
        line.append(" " * self.status + GAP + "ms".rjust(self.ms) + GAP)
        if self.bar:
            line.append("waterfall".ljust(self.bar) + GAP)
        line.append("result")
        return line

    def row(self, result: StageResult, end: float) -> list[Text]:
        subject = wrap(result.subject, self.subject)
        summary = wrap(result.summary, self.result)
        label, style = STATUS_STYLE[result.status]
        lines = []
        for index in range(max(len(subject), len(summary))):
            first = index == 0
            line = Text((str(result.stage) if first else "").ljust(self.stage) + GAP)
            line.append((subject[index] if index < len(subject) else "").ljust(self.subject))
            line.append(GAP)
            line.append((label if first else "").ljust(self.status), style=style if first else "")
            line.append(GAP + (_ms_cell(result) if first else "").rjust(self.ms) + GAP)
            if self.bar:
                bar = _bar(result, end, self.bar) if first else Text()
                bar.truncate(self.bar, pad=True)
                line.append_text(bar)
                line.append(GAP)
            line.append(summary[index] if index < len(summary) else "")
            line.rstrip()
            lines.append(line)
        return lines


def _columns(results: Sequence[StageResult], width: int) -> _Columns | None:
    """Widths that split no token, or None: then one block per record reads better.

    The result gets its full length when the subject can still keep its longest
    token whole; the subject gets what is left up to its own length; anything
    over goes back to the result. A narrower waterfall is taken when it saves
    a wrapped line; none, only when the table would not fit with one.
    """
    if width < STACK_BELOW:
        return None
    subjects = ["subject", *(r.subject for r in results)]
    summaries = ["result", *(r.summary for r in results)]
    stage = max(len(s) for s in Stage)  # the same in every report, and as the live table grows
    ms = max([len("ms"), *(len(_ms_cell(r)) for r in results)])
    status = max(len(label) for label, _ in STATUS_STYLE.values())
    widest = _bar_width(width) if any(r.phases for r in results) else 0
    bars = [b for b in (BAR_WIDTH, 16) if b <= widest] + [0]
    fitting: list[_Columns] = []
    for bar in bars:
        room = width - stage - status - ms - (bar + len(GAP) if bar else 0) - 4 * len(GAP)
        need = longest_line(summaries)
        result = min(need, room - longest_token(subjects))
        subject = min(longest_line(subjects), room - result)
        result = room - subject  # for the subject and the result
        if bar == 0 and widest and fitting:
            break  # the waterfall goes only when the table would not fit with it
        if result >= min(need, max(MIN_RESULT, longest_token(summaries))):
            columns = _Columns(stage, subject, status, ms, bar, result)
            if subject >= longest_line(subjects) and result >= need:
                return columns  # nothing wraps
            fitting.append(columns)
    return fitting[0] if fitting else None


def _blocks(results: Sequence[StageResult], width: int) -> list[Text]:
    """One record per block: ``stage subject`` then ``status  ms  result``, hanging under it."""
    lines: list[Text] = []
    for result in results:
        stage = str(result.stage)
        head = styled(wrap(f"{stage} {result.subject}", width, hang=" " * (len(stage) + 1)), "")
        head[0].stylize("bold", 0, len(stage))
        label, style = STATUS_STYLE[result.status]
        ms = _ms_cell(result)
        lead = label + (f"  {ms} ms" if ms else "")
        body = styled(wrap(f"{lead}  {result.summary}", width, indent="  ", hang="    "), "")
        body[0].stylize(style, 2, 2 + len(label))
        lines += [*head, *body]
    return lines


def _bar_width(console_width: int) -> int:
    """A waterfall only when there is room for it beside the text that matters more."""
    if console_width >= 140:
        return BAR_WIDTH
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


def _explanation(report: Report, width: int, *, debug: bool) -> list[Text]:
    """The first failure (or warning) spelled out: cause and fix."""
    lines: list[Text] = [Text("")]
    first = report.first_failure or report.first_warning
    if first is not None:
        head = "First failure" if first.status is Status.FAIL else "Warning"
        kind = f" [{first.kind}]" if first.kind else ""
        title = f"{head}: {first.stage} {first.subject}{kind}"
        lines += styled(wrap(title, width, hang="  "), "bold")
        if first.cause:
            lines += labelled("  cause: ", first.cause, width)
        if first.fix:
            lines += labelled("  fix:   ", first.fix, width)
    failures = [r for r in report.results if r.status is Status.FAIL]
    if len(failures) > 1:
        more = f"({len(failures) - 1} more failure(s) in the table; --json has them all)"
        lines += styled(wrap(more, width, indent="  ", hang="   "), "dim")
    if debug:
        lines += [Text(r.trace, style="dim") for r in report.results if r.trace]
    if len(lines) > 1:
        lines.append(Text(""))
    return lines


def _details_block(result: StageResult, width: int) -> list[Text]:
    lines = [Text(""), *styled(wrap(f"{result.stage} {result.subject}", width, hang="  "), "bold")]
    if result.cause:
        lines += labelled("  cause: ", result.cause, width, style="")
    if result.fix:
        lines += labelled("  fix:   ", result.fix, width, style="")
    if result.phases:
        phases = [f"{p.name} {ms_text(p.ms)} ms" for p in result.phases]
        lines += styled(wrap_items(phases, width, "  phases: ", " " * len("  phases: ")), "")
    return lines + [Text(line) for line in _flatten(result.details, width, indent=2)]


def _flatten(value: Mapping[str, Any], width: int, indent: int) -> list[str]:
    lines: list[str] = []
    pad = " " * indent
    for key, item in value.items():
        if isinstance(item, Mapping) and item:
            lines.append(f"{pad}{key}:")
            lines += _flatten(item, width, indent + 2)
        elif isinstance(item, list) and item and all(isinstance(i, Mapping) for i in item):
            lines.append(f"{pad}{key}:")
            for entry in item:
                pairs = [f"{k}={_scalar(v)}" for k, v in entry.items()]
                lines += wrap_items(pairs, width, pad + "  - ", pad + "    ")
        elif isinstance(item, list):
            values = [_scalar(i) for i in item] or ["none"]
            lines += wrap_items(values, width, f"{pad}{key}: ", pad + "  ")
        else:
            copyable = key in COPYABLE_KEYS or bool(_URL.match(str(item)))
            lines += _key_value(pad, key, _scalar(item), width, copyable=copyable)
    return lines


def _key_value(pad: str, key: str, value: str, width: int, *, copyable: bool = False) -> list[str]:
    """``key: value``; a value to copy, or one token too long for the line, on a line of its own."""
    label = f"{pad}{key}: "
    if copyable or (" " not in value and len(label) + len(value) > width):
        return [f"{pad}{key}:", f"{pad}  {value}"]
    return wrap(value, width, indent=label, hang=pad + "  ")


def _scalar(value: Any) -> str:
    """One detail as words: JSON's spellings, never a Python repr (``True``, ``{'a': 1}``)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return ms_text(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return json.dumps(value, ensure_ascii=False, default=str)  # a server's data, as sent
    return str(value).replace("\n", "\\n")  # one line per detail: newlines shown as \n


def _comparison(report: Report, width: int) -> list[Text]:
    """``--compare-direct``: each path's verdict, handshake time and ping, one block each."""
    if not report.comparison or report.interrupted:
        return []
    lines = [Text(""), Text("the same check through the proxy and direct:", style="bold")]
    for path in report.comparison:
        figures = [
            f"handshake {ms_text(path.handshake_ms)} ms" if path.handshake_ms is not None else "",
            f"ping median {ms_text(path.ping_ms)} ms" if path.ping_ms is not None else "",
        ]
        shown = ", ".join(f for f in figures if f)
        text = f"{path.path}: {path.verdict}" + (f" ({shown})" if shown else "")
        style = {Status.OK: "green", Status.WARN: "yellow"}.get(path.status, "red")
        lines += styled(wrap(text, width, indent="  ", hang="    "), style)
    return lines


def _client_config(report: Report) -> list[Text]:
    """``check --client``: the configuration that works from here, unwrapped, ready to paste."""
    config = report.client_config
    if config is None or report.interrupted:
        return []
    title = Text(f"{config.client} configuration that works from here:", style="bold")
    return [Text(""), title, *(Text(line) for line in config.snippet.splitlines())]
