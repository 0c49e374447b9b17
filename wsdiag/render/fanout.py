"""``wsdiag fanout`` as text: one row per socket, then the verdict with cause and fix."""

from __future__ import annotations

from wsdiag.fanout import Fanout
from wsdiag.models import Status
from wsdiag.units import ms_text


def fanout_lines(run: Fanout) -> list[str]:
    exclusion = (
        f", one more with socket {run.excluded_socket}'s id" if run.excluded_seq is not None else ""
    )
    lines = [
        f"wsdiag fanout {run.target}: {len(run.sockets)} sockets, {run.events} events "
        f"on {run.channel}{exclusion}",
        "",
    ]
    rows = [
        ("#", "socket_id", "node", "received", "lost", "dup", "order", "median", "p95", "members")
    ]
    for view in run.sockets:
        if view.error is not None:
            rows.append(
                (str(view.index), "-", view.node or "-", view.error, "", "", "", "", "", "")
            )
            continue
        latency = run.latency(view)
        got = len(view.received & set(range(run.events)))
        closed = f" (closed {view.closed[0]})" if view.closed is not None else ""
        rows.append(
            (
                str(view.index),
                view.socket_id or "-",
                view.node or view.address or "-",
                f"{got}/{run.events}{closed}",
                str(len(run.lost(view))),
                str(view.duplicates),
                str(view.out_of_order),
                ms_text(latency["median"]) if latency else "-",
                ms_text(latency["p95"]) if latency else "-",
                str(len(view.members)),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]  # fmt: skip
    word = {Status.OK: "OK", Status.WARN: "WARN", Status.FAIL: "FAIL"}.get(run.status, "SKIPPED")
    kind = f" [{run.kind}]" if run.kind else ""
    lines += ["", f"{word}: {run.summary}{kind}"]
    if run.cause:
        lines.append(f"  cause: {run.cause}")
    if run.fix:
        lines.append(f"  fix:   {run.fix}")
    return lines
