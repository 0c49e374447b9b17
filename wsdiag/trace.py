"""``--debug`` protocol trace: frames and HTTP exchanges on stderr, like pusher-js's logToConsole.

Off unless the CLI calls ``enable``. Everything passes through ``redact`` first:
signatures, auth values and registered secrets never reach the trace.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from typing import TextIO


class _Tracer:
    """Process-wide trace state (one CLI run = one trace)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stream: TextIO | None = None
        self.secrets: set[str] = set()
        self.t0 = time.monotonic()


_state = _Tracer()

# "auth":"key:<64 hex>" in subscribe frames and auth replies; auth_signature=<hex> in API queries.
_AUTH_VALUE = re.compile(r'("auth"\s*:\s*"[^":]*:)([0-9a-fA-F]{8,})(")')
_QUERY_SIGNATURE = re.compile(r"(auth_signature=)([0-9a-fA-F]+)")
_BEARER = re.compile(r"(?i)(authorization:\s*\w+\s+)(\S+)")
_COOKIE = re.compile(r"(?i)((?:cookie|x-csrf-token|x-xsrf-token):\s*)(.+)")


def enable(stream: TextIO | None = None) -> None:
    _state.stream = stream or sys.stderr
    _state.t0 = time.monotonic()


def add_secret(value: str | None) -> None:
    """Register a value that must never be traced (the app secret, auth header values)."""
    if value and len(value) >= 4:
        _state.secrets.add(value)


def redact(text: str) -> str:
    text = _AUTH_VALUE.sub(lambda m: m.group(1) + m.group(2)[:4] + "…" + m.group(3), text)
    text = _QUERY_SIGNATURE.sub(lambda m: m.group(1) + m.group(2)[:4] + "…", text)
    text = _BEARER.sub(lambda m: m.group(1) + "…", text)
    text = _COOKIE.sub(lambda m: m.group(1) + "…", text)
    for secret in sorted(_state.secrets, key=len, reverse=True):
        text = text.replace(secret, secret[:3] + "…")
    return text


def trace(direction: str, channel: str, text: str) -> None:
    """One line: seconds since start, ``>>`` out / ``<<`` in / ``--`` note, what, the payload."""
    stream = _state.stream
    if stream is None:
        return
    line = f"[{time.monotonic() - _state.t0:9.3f}] {direction} {channel}: {redact(text)}"
    with _state.lock:
        stream.write(line.rstrip() + "\n")
        stream.flush()
