"""Live renderers for ``tail``: one console line per event, or NDJSON, written in blocks.

NDJSON carries app events only (``received_at``, ``channel``, ``event``,
``data``, ``user_id``) so ``| jq`` sees one shape; connection states and the
summary go to stderr in both modes.
"""

from __future__ import annotations

import functools
import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from wsdiag.channels.stream import Observed, TailEvent, TailSummary

MAX_DATA_CHARS = 2000  # longer payloads are cut in the console (never in NDJSON)


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
PENDING_LINES = 1000  # a burst is written in blocks of at most this many lines


class _Timestamps:
    """ISO 8601 of a receive time, computed once per distinct time (a burst shares one)."""

    def __init__(self) -> None:
        self._at: float | None = None
        self._text = ""

    def __call__(self, at: float) -> str:
        if at != self._at:
            self._at, self._text = at, datetime.fromtimestamp(at, UTC).isoformat()
        return self._text


def ndjson_line(event: TailEvent, stamp: _Timestamps | None = None) -> str:
    """``{"received_at","channel","event","data","user_id"}`` on one line.

    ``data`` is the JSON text the server sent when it is one line (already
    validated by the parse), so it is not encoded a second time.
    """
    received = (stamp or _Timestamps())(event.received_at)
    raw = event.data_json
    if raw is None or "\n" in raw or "\r" in raw:
        raw = _encode(event.data)
    user = "null" if event.user_id is None else _encode(event.user_id)
    return (
        f'{{"received_at":"{received}",{_names(event.channel, event.event)}'
        f'"data":{raw.strip()},"user_id":{user}}}'
    )


@functools.lru_cache(maxsize=1024)
def _names(channel: str | None, event: str | None) -> str:
    """The channel and event members of a line: a burst repeats the same few names."""
    return f'"channel":{_encode(channel)},"event":{_encode(event)},'


class _BlockWriter:
    """Event lines held and written a block at a time: ``flush`` when the socket has nothing
    more buffered (TailSession calls it), so ``| jq`` stays live and a burst is not one write
    per line. Anything for stderr first flushes stdout, to keep the order things happened in."""

    def __init__(self, out: TextIO | None, err: TextIO | None) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._pending: list[str] = []

    def _hold(self, line: str) -> None:
        self._pending.append(line)
        if len(self._pending) >= PENDING_LINES:
            self.flush()

    def _say(self, lines: list[str]) -> None:
        self.flush()
        self.err.write("\n".join(lines) + "\n")
        self.err.flush()

    def flush(self) -> None:
        if self._pending:
            # The lines are let go once written: a write stopped by Ctrl-C keeps them for
            # the summary's flush, so no event received goes unprinted.
            self.out.write("\n".join(self._pending) + "\n")
            self._pending.clear()
        self.out.flush()

    def finish(self, summary: TailSummary) -> None:
        self.flush()
        self._say(summary.lines())


class NdjsonTailRenderer(_BlockWriter):
    """NDJSON on stdout, app events only; states and warnings as plain lines on stderr."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        super().__init__(out, err)
        self._stamp = _Timestamps()

    def on_event(self, event: TailEvent) -> None:
        if event.kind is Observed.EVENT:
            self._hold(ndjson_line(event, self._stamp))
        else:
            self._say([_plain_line(event)])


def _plain_line(event: TailEvent) -> str:
    stamp = datetime.fromtimestamp(event.received_at).strftime("%H:%M:%S.%f")[:-3]
    text = f"{stamp} {event.kind}"
    if event.channel:
        text += f" {event.channel}"
    if event.event:  # a warning about one event (it could not be decrypted) names it
        text += f" {event.event}"
    if event.message:
        text += f": {event.message}"
    if event.code:
        text += f" (code {event.code})"
    if event.fix:
        text += f" — fix: {event.fix}"
    return text


_STYLES = {  # ANSI SGR codes, used only on a terminal and without NO_COLOR
    "dim": "2",
    "channel": "36",
    "event": "1",
    Observed.SUBSCRIPTION_ERROR: "1;31",
    Observed.WARNING: "33",
    Observed.MEMBER_ADDED: "32",
    Observed.MEMBER_REMOVED: "35",
    Observed.SUBSCRIBED: "32",
    "failed": "1;31",
    "state": "34",
}


class ConsoleTailRenderer(_BlockWriter):
    """One line per event on stdout: time, channel, event, the data compact on the same line
    (cut at MAX_DATA_CHARS with a marker); ``full``: the data pretty-printed below instead.
    States, members and warnings go to stderr, one unwrapped line each. Lines are plain
    text (colour only on a terminal), written a block at a time like the NDJSON renderer:
    a console tail keeps up with a burst instead of laying out every event with rich.
    """

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        *,
        full: bool = False,
        colour: bool | None = None,
    ) -> None:
        super().__init__(out, err)
        self.full = full
        self._colour_out = _wants_colour(self.out) if colour is None else colour
        self._colour_err = _wants_colour(self.err) if colour is None else colour
        self._clock = _Clock()

    def on_event(self, event: TailEvent) -> None:
        if event.kind is Observed.EVENT:
            self._hold(self._event_line(event))
            return
        lines = [self._state_line(event)]
        for member in event.members or ():
            info = member.get("user_info")
            shown = f" {_encode(info)}" if info is not None else ""
            lines.append(self._paint(f"    member {member['user_id']}{shown}", "dim", err=True))
        self._say(lines)

    def _event_line(self, event: TailEvent) -> str:
        head = " ".join(
            (
                self._paint(self._clock(event.received_at), "dim"),
                self._paint(event.channel or "", "channel"),
                self._paint(event.event or "", "event"),
            )
        )
        data = event.data
        if self.full:
            return head + "\n" + _indented(data)
        text = _encode(data) if isinstance(data, dict | list) else "" if data is None else str(data)
        text = text.replace("\n", "\\n")  # one line per event, whatever the data holds
        if len(text) > MAX_DATA_CHARS:
            cut = len(text) - MAX_DATA_CHARS
            text = text[:MAX_DATA_CHARS] + self._paint(
                f" … (+{cut} characters; --full or --json shows all)", "dim"
            )
        return f"{head} {text}" if text else head

    def _state_line(self, event: TailEvent) -> str:
        stamp = self._clock(event.received_at)
        if event.kind in (Observed.MEMBER_ADDED, Observed.MEMBER_REMOVED):
            line = f"{event.kind} {event.channel}: user {event.user_id}"
        else:
            line = _plain_line(event)[len(stamp) + 1 :]
        style: str | Observed = event.kind if event.kind in _STYLES else "state"
        if event.kind is Observed.STATE and event.state == "failed":
            style = "failed"
        return f"{self._paint(stamp, 'dim', err=True)} {self._paint(line, style, err=True)}"

    def _paint(self, text: str, style: str | Observed, *, err: bool = False) -> str:
        if not text or not (self._colour_err if err else self._colour_out):
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"


class _Clock:
    """HH:MM:SS.mmm local time of a receive time, computed once per distinct time."""

    def __init__(self) -> None:
        self._at: float | None = None
        self._text = ""

    def __call__(self, at: float) -> str:
        if at != self._at:
            self._at = at
            self._text = datetime.fromtimestamp(at).strftime("%H:%M:%S.%f")[:-3]
        return self._text


def _indented(data: Any) -> str:
    if isinstance(data, dict | list):
        return "\n".join(
            "  " + line for line in json.dumps(data, indent=2, ensure_ascii=False).split("\n")
        )
    return "  " + ("" if data is None else str(data))


def _wants_colour(stream: TextIO) -> bool:
    import os

    try:
        return stream.isatty() and not os.environ.get("NO_COLOR")
    except (AttributeError, ValueError):
        return False
