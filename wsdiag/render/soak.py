"""``soak``'s report: plain lines, the JSON document (schema/soak-v1.json), live progress.

Only the live progress imports rich, and only when stderr is a terminal.
"""

from __future__ import annotations

from typing import IO, Any

from wsdiag import __version__
from wsdiag.checks.soak import ConnectionLife, Ending, SoakResult, figures


def life_words(life: ConnectionLife) -> str:
    if life.ending is Ending.ALIVE:
        return f"alive after {life.lived_s:.1f} s"
    if life.ending is Ending.NOT_CONNECTED:
        return f"never connected: {life.reason}"
    if life.ending is Ending.SILENT:
        return f"died silently (no close; {life.reason}), found after {life.lived_s:.1f} s"
    reason = f" ({life.reason})" if life.reason else ""
    return f"closed {life.close_code}{reason} after {life.lived_s:.1f} s"


def soak_lines(result: SoakResult) -> list[str]:
    """The report as plain lines (stdout)."""
    lines = [
        f"wsdiag soak {result.target}  v{__version__}",
        f"held 3 connections for up to {result.duration_s:g} s; keep-alive every "
        f"{result.interval_s:g} s (server activity_timeout: "
        f"{result.server_activity_timeout if result.server_activity_timeout is not None else '?'}"
        " s)",
    ]
    lines += [f"  {life.keep_alive.label:<22} {life_words(life)}" for life in result.lives]
    lines.append("")
    head = {"ok": "OK", "warn": "WARN", "fail": "FAIL"}.get(result.status, "FAIL")
    lines.append(f"{head}: {result.summary}")
    if result.idle_timeout_s is not None:
        lines.append(f"  idle timeout of the path: ≈ {result.idle_timeout_s:g} s")
    if result.cause:
        lines.append(f"  cause: {result.cause}" + (f" [{result.kind}]" if result.kind else ""))
    if result.fix:
        lines.append(f"  fix:   {result.fix}")
    return lines


def soak_document(result: SoakResult, exit_code: int) -> dict[str, Any]:
    """The ``--json`` document; durations in seconds (the unit the question is asked in)."""
    return {
        "schema": "wsdiag-soak/1",
        "tool": {"name": "wsdiag", "version": __version__},
        "command": "soak",
        "target": result.target,
        "status": str(result.status),
        "exit_code": exit_code,
        "kind": str(result.kind) if result.kind else None,
        "summary": result.summary,
        "cause": result.cause,
        "fix": result.fix,
        **figures(result),
    }


class SoakProgress:
    """One live line per connection on a terminal's stderr; nothing elsewhere."""

    def __init__(self, stream: IO[str], duration: float) -> None:
        self._live: Any = None
        self._duration = duration
        if not stream.isatty():
            return
        from rich.console import Console
        from rich.live import Live

        self._live = Live(console=Console(file=stream, highlight=False), transient=True)
        self._live.start()

    def update(self, lives: tuple[ConnectionLife, ...]) -> None:
        if self._live is None:
            return
        from rich.text import Text

        rows = [f"{life.keep_alive.label:<22} {life_words(life)}" for life in lives]
        self._live.update(Text("\n".join([f"soaking (up to {self._duration:g} s)…", *rows])))

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
