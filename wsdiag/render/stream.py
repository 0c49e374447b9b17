"""Live renderers for ``tail``: one console line per event, or NDJSON flushed per line.

NDJSON carries app events only (``received_at``, ``channel``, ``event``,
``data``, ``user_id``) so ``| jq`` sees one shape; connection states and the
summary go to stderr in both modes.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from wsdiag.channels.stream import Observed, TailEvent, TailSummary

MAX_DATA_CHARS = 2000  # longer payloads are cut in the console (never in NDJSON)


def ndjson_line(event: TailEvent) -> str:
    record = {
        "received_at": datetime.fromtimestamp(event.received_at, UTC).isoformat(),
        "channel": event.channel,
        "event": event.event,
        "data": event.data,
        "user_id": event.user_id,
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


class NdjsonTailRenderer:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def on_event(self, event: TailEvent) -> None:
        if event.kind is Observed.EVENT:
            self.out.write(ndjson_line(event) + "\n")
            self.out.flush()
        else:
            self.err.write(_plain_line(event) + "\n")
            self.err.flush()

    def finish(self, summary: TailSummary) -> None:
        for line in summary.lines():
            self.err.write(line + "\n")
        self.err.flush()


def _plain_line(event: TailEvent) -> str:
    stamp = datetime.fromtimestamp(event.received_at).strftime("%H:%M:%S.%f")[:-3]
    text = f"{stamp} {event.kind}"
    if event.channel:
        text += f" {event.channel}"
    if event.message:
        text += f": {event.message}"
    if event.code:
        text += f" (code {event.code})"
    if event.fix:
        text += f" — fix: {event.fix}"
    return text


class ConsoleTailRenderer:
    """rich lines: time, channel, event, data (JSON pretty-printed and highlighted)."""

    def __init__(self, console: Any, err_console: Any) -> None:
        self.console = console
        self.err = err_console

    def on_event(self, event: TailEvent) -> None:
        from rich.text import Text

        stamp = datetime.fromtimestamp(event.received_at).strftime("%H:%M:%S.%f")[:-3]
        if event.kind is Observed.EVENT:
            head = Text.assemble(
                (stamp, "dim"), " ", (event.channel or "", "cyan"), " ", (event.event or "", "bold")
            )
            self.console.print(head)
            self._print_data(event.data)
            return
        style = {
            Observed.SUBSCRIPTION_ERROR: "bold red",
            Observed.WARNING: "yellow",
            Observed.MEMBER_ADDED: "green",
            Observed.MEMBER_REMOVED: "magenta",
            Observed.SUBSCRIBED: "green",
        }.get(event.kind, "blue")
        if event.kind is Observed.STATE and event.state == "failed":
            style = "bold red"
        line = _plain_line(event)[len(stamp) + 1 :]
        if event.kind in (Observed.MEMBER_ADDED, Observed.MEMBER_REMOVED):
            line = f"{event.kind} {event.channel}: user {event.user_id}"
        self.err.print(Text.assemble((stamp, "dim"), " ", (line, style)))
        if event.members:
            for member in event.members:
                info = member.get("user_info")
                shown = f" {json.dumps(info, ensure_ascii=False)}" if info is not None else ""
                self.err.print(Text(f"    member {member['user_id']}{shown}", style="dim"))

    def _print_data(self, data: Any) -> None:
        from rich.syntax import Syntax

        if isinstance(data, dict | list):
            text = json.dumps(data, indent=2, ensure_ascii=False)
            truncated = len(text) > MAX_DATA_CHARS
            if truncated:
                text = text[:MAX_DATA_CHARS]
            self.console.print(Syntax(text, "json", theme="ansi_dark", background_color="default"))
        else:
            text = "" if data is None else str(data)
            truncated = len(text) > MAX_DATA_CHARS
            self.console.print("  " + text[:MAX_DATA_CHARS], highlight=False, markup=False)
        if truncated:
            self.console.print(
                f"  … truncated at {MAX_DATA_CHARS} characters (--json shows all)", style="dim"
            )

    def finish(self, summary: TailSummary) -> None:
        for line in summary.lines():
            self.err.print(line, highlight=False, markup=False)
