"""Renderers: one per output format, all behind the same small interface.

``start`` is called before the first stage, ``on_result`` as each result
arrives (for live output), ``finish`` once at the end with the exit code.
Only these modules import rich.

Notes (``note: …``) go to stderr in every format, as ``tail``, ``publish`` and
``channels`` say theirs: they qualify the answer (the key looks like an app id,
the CAs came from the environment, a proxy was used), so ``-q`` keeps them too,
and stdout stays the report alone (issue 14). ``--json`` also lists them.
"""

from __future__ import annotations

import sys
from typing import Protocol, TextIO

from wsdiag.models import Report, StageResult


class Renderer(Protocol):
    def start(self, report: Report) -> None: ...
    def on_result(self, result: StageResult) -> None: ...
    def finish(self, report: Report, exit_code: int) -> None: ...


class _PlainNotes:
    """Each note once, as ``note: …`` on stderr, for the formats without rich."""

    def __init__(self, err: TextIO | None) -> None:
        self._err = err
        self._shown = 0

    def flush(self, report: Report) -> None:
        err = self._err or sys.stderr
        for note in report.notes[self._shown :]:
            err.write(f"note: {note}\n")
        err.flush()
        self._shown = len(report.notes)


class JsonRenderer:
    """Nothing on stdout until the end, then one JSON document."""

    def __init__(
        self, *, debug: bool = False, out: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self.debug = debug
        self._out = out
        self._notes = _PlainNotes(err)

    def start(self, report: Report) -> None:
        self._notes.flush(report)

    def on_result(self, result: StageResult) -> None:
        pass

    def finish(self, report: Report, exit_code: int) -> None:
        from wsdiag.render.json import render_json

        self._notes.flush(report)
        out = self._out or sys.stdout
        out.write(render_json(report, exit_code, debug=self.debug) + "\n")
        out.flush()


class _AtTheEnd:
    """A format written once, when the report is done; notes go to stderr, as in every format."""

    def __init__(self, *, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self._out = out
        self._notes = _PlainNotes(err)

    def start(self, report: Report) -> None:
        self._notes.flush(report)

    def on_result(self, result: StageResult) -> None:
        pass

    def finish(self, report: Report, exit_code: int) -> None:
        self._notes.flush(report)
        out = self._out or sys.stdout
        out.write(self.text(report))
        out.flush()

    def text(self, report: Report) -> str:
        raise NotImplementedError


class QuietRenderer(_AtTheEnd):
    """The verdict line only on stdout, for scripts that just want the answer."""

    def text(self, report: Report) -> str:
        from wsdiag.render.verdict import verdict

        return verdict(report) + "\n"


class MarkdownRenderer(_AtTheEnd):
    """The report as Markdown on stdout (job summaries, issue comments)."""

    def text(self, report: Report) -> str:
        from wsdiag.render.markdown import render_markdown

        return render_markdown(report)


def make_renderer(
    fmt: str, *, detailed: bool = False, debug: bool = False, stderr: bool = False
) -> Renderer:
    """``stderr``: the report goes to stderr too (``--junit -`` keeps stdout for the XML)."""
    out = sys.stderr if stderr else None
    if fmt == "json":
        return JsonRenderer(debug=debug, out=out)
    if fmt == "quiet":
        return QuietRenderer(out=out)
    if fmt == "markdown":
        return MarkdownRenderer(out=out)
    from rich.console import Console

    from wsdiag.render.console import ConsoleRenderer

    return ConsoleRenderer(
        Console(highlight=False, stderr=stderr),
        err_console=Console(stderr=True, highlight=False),
        detailed=detailed,
        debug=debug,
    )
