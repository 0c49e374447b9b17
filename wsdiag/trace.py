"""``--debug`` protocol trace: frames and HTTP exchanges on stderr, like pusher-js's logToConsole.

Off unless the CLI calls ``enable``. Everything passes through ``redact`` first:
signatures, auth values and registered secrets never reach the trace. The
WebSocket upgrade is shown as ``curl -v`` shows a request (``http_head``), its
credential headers masked whatever their scheme.
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

# Patterns, compiled on first use by re's cache (only a --debug run or a bundle redacts, and
# compiling them at import cost every check 2 ms, issue 13).
# "auth":"key:<64 hex>" in subscribe frames and auth replies; auth_signature=<hex> in API queries.
_AUTH_VALUE = r'("auth"\s*:\s*"[^":]*:)([0-9a-fA-F]{8,})(")'
_QUERY_SIGNATURE = r"(auth_signature=)([0-9a-fA-F]+)"
_SHARED_SECRET = r'("shared_secret"\s*:\s*")([^"]+)(")'  # encrypted channels' key
_URL_PASSWORD = r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)([^/\s@]+)(@)"
_BEARER = r"(?i)(authorization:\s*\w+\s+)(\S+)"
_COOKIE = r"(?i)((?:cookie|x-csrf-token|x-xsrf-token):\s*)(.+)"
# Header names whose values are credentials (Sec-WebSocket-Key is a nonce, shown as curl does).
_CREDENTIAL_HEADER = (
    r"(?i)^(?:proxy-)?authorization$|cookie|token|secret|passw|session|api-?key|^x-auth"
)
_SCHEME = r"^[A-Za-z][\w-]*\s+(?=\S)"  # "Bearer ", "Basic " before a credential


def enable(stream: TextIO | None = None) -> None:
    _state.stream = stream or sys.stderr
    _state.t0 = time.monotonic()


def enabled() -> bool:
    """Whether ``--debug`` is on: a hot loop asks once instead of building each line."""
    return _state.stream is not None


def add_secret(value: str | None) -> None:
    """Register a value that must never be traced (the app secret, auth header values)."""
    if value and len(value) >= 4:
        _state.secrets.add(value)


def redact(text: str) -> str:
    text = re.sub(_AUTH_VALUE, lambda m: m.group(1) + m.group(2)[:4] + "…" + m.group(3), text)
    text = re.sub(_QUERY_SIGNATURE, lambda m: m.group(1) + m.group(2)[:4] + "…", text)
    text = re.sub(_SHARED_SECRET, lambda m: m.group(1) + "…" + m.group(3), text)
    text = re.sub(_URL_PASSWORD, lambda m: m.group(1) + "***" + m.group(3), text)
    text = re.sub(_BEARER, lambda m: m.group(1) + "…", text)
    text = re.sub(_COOKIE, lambda m: m.group(1) + "…", text)
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


def http_head(direction: str, channel: str, title: str, head: bytes) -> None:
    """An HTTP request or response head as ``curl -v`` shows it: a titled trace line, then
    one ``> `` (out) or ``< `` (in) line per line of the head. Written as one block, so
    heads of upgrades raced in parallel do not interleave."""
    stream = _state.stream
    if stream is None:
        return
    mark = "> " if direction == ">>" else "< "
    text = head.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    lines = [mark + redact(mask_header(line)) for line in text.split("\r\n") if line]
    block = [f"[{time.monotonic() - _state.t0:9.3f}] {direction} {channel}: {redact(title)}"]
    block += lines or [mark + "(nothing)"]
    with _state.lock:
        stream.write("".join(line.rstrip() + "\n" for line in block))
        stream.flush()


def mask_header(line: str) -> str:
    """``Name: value`` with the value masked when the name says it is a credential."""
    name, sep, value = line.partition(":")
    if not sep or not re.search(_CREDENTIAL_HEADER, name.strip()):
        return line
    value = value.strip()
    scheme = re.match(_SCHEME, value) if name.strip().lower().endswith("authorization") else None
    return f"{name}: {scheme.group(0) if scheme else ''}…"
