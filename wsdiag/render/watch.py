"""``wsdiag watch`` on screen: the live dashboard, one line per run, and the closing summary.

The dashboard (a terminal) shows each stage's state now and over the recent
runs as a strip, the ping and delivery medians over time as sparklines, and
the last failure with its cause and fix. Elsewhere each run is one line. The
summary is the same words in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.text import Text

from wsdiag.models import Stage, Status
from wsdiag.render.text import wrap
from wsdiag.units import ms_text
from wsdiag.watch import History, Run

_BLOCK = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "red", Status.SKIPPED: "grey50"}
_SPARKS = "▁▂▃▄▅▆▇█"


def stamp(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_line(run: Run) -> str:
    """One run, for logs: when, which, the verdict, how long."""
    return f"{stamp(run.started_at)} #{run.number} {run.verdict} ({run.duration_s:.2f} s)"


def dashboard(history: History, target: str, interval: float, width: int) -> list[Text]:
    runs = list(history.runs)
    uptime = history.uptime
    head = f"wsdiag watch {target} every {interval:g} s — {history.count} run(s)"
    if uptime is not None:
        head += f", uptime {uptime:.1f} %, {history.flaps} flap(s)"
    lines = [Text(head, style="bold"), Text("")]
    stages = [s for s in Stage if any(s in run.stages for run in runs)]
    for stage in stages:
        now = runs[-1].stages.get(stage) if runs else None
        line = Text(f"{stage.value:<10} ")
        line.append(f"{(now or '-')!s:<8}", style=_BLOCK.get(now, "") if now else "")
        for run in runs:
            state = run.stages.get(stage)
            line.append("█" if state else "·", style=_BLOCK[state] if state else "grey30")
        lines.append(line)
    lines.append(Text(""))
    for label, values in (
        ("ping", [run.ping_ms for run in runs]),
        ("delivery", [run.delivery_ms for run in runs]),
    ):
        if any(v is not None for v in values):
            current = next((v for v in reversed(values) if v is not None), None)
            line = Text(
                f"{label:<10} {ms_text(current) + ' ms' if current is not None else '-':<8} "
            )
            line.append(sparkline(values))
            lines.append(line)
    if history.last_failure is not None:
        run = history.last_failure
        failure = run.failure
        assert failure is not None
        lines.append(Text(""))
        lines += [
            Text(line, style="red")
            for line in wrap(
                f"last failure: run #{run.number} at {stamp(run.started_at)}: {failure.stage} "
                f"{failure.subject}: {failure.summary} [{failure.kind}]",
                width,
                hang="  ",
            )
        ]
        for label, text in (("cause", failure.cause), ("fix", failure.fix)):
            if text:
                lines += [Text(line) for line in wrap(f"{label}: {text}", width, indent="  ")]
    return lines


def sparkline(values: Sequence[float | None]) -> str:
    """Each value as a bar scaled between the smallest and largest; a gap where none."""
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    return "".join(
        " " if v is None else _SPARKS[min(len(_SPARKS) - 1, int((v - low) / span * len(_SPARKS)))]
        for v in values
    )


def summary_lines(history: History, elapsed_s: float) -> list[str]:
    summary = history.summary()
    uptime = history.uptime
    worked = (
        f"{uptime:.1f} % ({history.working}/{history.count} runs worked)"
        if uptime is not None
        else "- (no run finished)"
    )
    lines = [
        f"watched {history.count} run(s) over {elapsed_s:.0f} s: uptime {worked}, "
        f"{history.flaps} flap(s)"
    ]
    failures = history.failures.most_common()
    if failures:
        lines.append("failures: " + ", ".join(f"{kind} ×{n}" for kind, n in failures))
    for label in ("ping", "delivery"):
        figures = summary[f"{label}_ms"]
        if isinstance(figures, dict):
            lines.append(
                f"{label}: min {ms_text(figures['min'])} / median {ms_text(figures['median'])} / "
                f"p95 {ms_text(figures['p95'])} / max {ms_text(figures['max'])} ms"
            )
    return lines
