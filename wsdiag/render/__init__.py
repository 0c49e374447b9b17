"""Renderers: one per output format, all behind the same small interface.

``start`` is called before the first stage, ``on_result`` as each result
arrives (for live output), ``finish`` once at the end with the exit code.
Only these modules import rich.
"""

from __future__ import annotations

import sys
from typing import Protocol

from wsdiag.models import Report, StageResult


class Renderer(Protocol):
    def start(self, report: Report) -> None: ...
    def on_result(self, result: StageResult) -> None: ...
    def finish(self, report: Report, exit_code: int) -> None: ...


class JsonRenderer:
    """Nothing until the end, then one JSON document on stdout."""

    def __init__(self, *, debug: bool = False) -> None:
        self.debug = debug

    def start(self, report: Report) -> None:
        pass

    def on_result(self, result: StageResult) -> None:
        pass

    def finish(self, report: Report, exit_code: int) -> None:
        from wsdiag.render.json import render_json

        sys.stdout.write(render_json(report, exit_code, debug=self.debug) + "\n")
        sys.stdout.flush()


class QuietRenderer:
    """The verdict line only: for scripts that just want the answer."""

    def __init__(self, *, stderr: bool = False) -> None:
        self.stderr = stderr  # stdout carries another document (``--junit -``)

    def start(self, report: Report) -> None:
        pass

    def on_result(self, result: StageResult) -> None:
        pass

    def finish(self, report: Report, exit_code: int) -> None:
        from wsdiag.render.verdict import verdict

        out = sys.stderr if self.stderr else sys.stdout
        out.write(verdict(report) + "\n")
        out.flush()


def make_renderer(
    fmt: str, *, detailed: bool = False, debug: bool = False, stderr: bool = False
) -> Renderer:
    """``stderr``: the human report goes to stderr, as stdout carries ``--junit -``."""
    if fmt == "json":
        return JsonRenderer(debug=debug)
    if fmt == "quiet":
        return QuietRenderer(stderr=stderr)
    from rich.console import Console

    from wsdiag.render.console import ConsoleRenderer

    return ConsoleRenderer(Console(highlight=False, stderr=stderr), detailed=detailed, debug=debug)
