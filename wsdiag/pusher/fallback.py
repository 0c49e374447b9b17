"""pusher-js's HTTP fallback (xhr_streaming, xhr_polling): its URLs and its frames. Pure code.

When WebSocket fails, pusher-js opens an HTTP "socket" on ``httpHost``
(``sockjs-CLUSTER.pusher.com`` by default) under ``httpPath`` (``/pusher``):

- receive: ``POST /pusher/app/KEY/<0-999>/<8 chars>/xhr_streaming?protocol=7&…``
  (``…/xhr`` when polling), the session being the number and the random string;
- send: ``POST …/<session>/xhr_send`` with a JSON array of frames.

The reply is SockJS-style, one frame per line, told apart by its first
character: ``o`` open (optionally ``{"hostname": …}``), ``a[...]`` an array of
Pusher frames (each a JSON string), ``m…`` one Pusher frame, ``h`` a heartbeat
(SockJS's 2 KiB prelude of ``h`` is one), ``c[code, "reason"]`` close.
``FrameSplitter`` turns the bytes of a stream into these frames.
"""

from __future__ import annotations

import json
import secrets
from urllib.parse import quote

from wsdiag.pusher.frames import CLIENT_NAME, PROTOCOL_VERSION
from wsdiag.records import record

HTTP_PATH = "/pusher"  # pusher-js's httpPath default
STREAMING = "xhr_streaming"
POLLING = "xhr"
# pusher-js reconnects a stream whose unread buffer grows past this; a line this
# long without a newline is no fallback reply.
MAX_LINE = 256 * 1024
_SESSION_CHARS = "0123456789abcdefghijklmnopqrstuv"  # base 32, as pusher-js draws them


@record
class Open:
    hostname: str | None  # the server may move the session to another host


@record
class Messages:
    frames: tuple[str, ...]  # Pusher frames, each the text a WebSocket frame would carry


@record
class Heartbeat:
    pass


@record
class Close:
    code: int
    reason: str


@record
class Garbled:
    """A line that is no fallback frame: what it began with, for the report.

    pusher-js skips such lines and keeps waiting for its open frame, so a
    captive portal's page or a proxy's error text ends in a timeout, not a
    failure of its own; the text is the evidence for that timeout.
    """

    text: str


Frame = Open | Messages | Heartbeat | Close | Garbled


def new_session() -> str:
    """``<0-999>/<8 chars>``: the session pusher-js draws for each HTTP socket."""
    number = secrets.randbelow(1000)
    return f"{number}/" + "".join(secrets.choice(_SESSION_CHARS) for _ in range(8))


def receive_path(
    key: str, session: str, version: str, transport: str = STREAMING, prefix: str = HTTP_PATH
) -> str:
    """The receive URL's path and query, as pusher-js builds it (``t``/``n`` make it unique)."""
    query = f"protocol={PROTOCOL_VERSION}&client={CLIENT_NAME}&version={quote(version, safe='')}"
    return f"{prefix}/app/{quote(key, safe='')}/{session}/{transport}?{query}&t=0&n=1"


def send_path(key: str, session: str, prefix: str = HTTP_PATH) -> str:
    return f"{prefix}/app/{quote(key, safe='')}/{session}/xhr_send"


def parse_line(line: str) -> Frame:
    """One line of a fallback reply (without its newline)."""
    kind, rest = line[:1], line[1:]
    try:
        if kind == "h":
            return Heartbeat()
        if kind == "o":
            options = json.loads(rest) if rest else {}
            hostname = options.get("hostname") if isinstance(options, dict) else None
            return Open(hostname if isinstance(hostname, str) else None)
        if kind == "a":
            items = json.loads(rest) if rest else []
            if isinstance(items, list) and all(isinstance(i, str) for i in items):
                return Messages(tuple(items))
        elif kind == "m":
            item = json.loads(rest) if rest else None
            if isinstance(item, str):
                return Messages((item,))
        elif kind == "c":
            closing = json.loads(rest) if rest else []
            if isinstance(closing, list) and closing and isinstance(closing[0], int):
                reason = closing[1] if len(closing) > 1 and isinstance(closing[1], str) else ""
                return Close(closing[0], reason)
    except ValueError:
        pass
    shown = line if len(line) <= 80 else line[:80] + "…"
    return Garbled(shown)


class FrameSplitter:
    """Bytes of a fallback reply in, frames out: every complete line, in order."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[Frame]:
        lines = (self._pending + data).split(b"\n")
        self._pending = lines.pop()
        if len(self._pending) > MAX_LINE:
            self._pending = b""
            return [Garbled(f"a line of more than {MAX_LINE:,} bytes without a newline")]
        texts = (line.decode("utf-8", "replace").rstrip("\r") for line in lines)
        return [parse_line(text) for text in texts if text.strip()]

    def finish(self) -> list[Frame]:
        """The stream ended: a last line without its newline still counts."""
        rest, self._pending = self._pending, b""
        return [parse_line(rest.decode("utf-8", "replace"))] if rest.strip() else []
