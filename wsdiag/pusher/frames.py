"""Pusher protocol 7 frames: parse what the server sends, build what the client sends. Pure code.

A frame is a UTF-8 JSON object ``{"event", "channel"?, "data"}`` whose ``data``
is usually itself a JSON *string* (double-encoded); ``parse_frame`` decodes it
once more when it can and keeps the raw text for the trace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

PROTOCOL_VERSION = 7
CLIENT_NAME = "wsdiag"
_SOCKET_ID = re.compile(r"^\d+\.\d+$")


class FrameError(ValueError):
    """The server sent something that is not a Pusher frame; the message says what."""


# Slotted, not frozen: tail builds one per event of a burst, and a frozen dataclass's
# __init__ (object.__setattr__ per field) costs several times a slotted one (issue 13).
@dataclass(slots=True)
class PusherEvent:
    event: str
    channel: str | None
    data: Any  # decoded JSON when data was a JSON string or object, else the raw value
    raw: str
    user_id: str | None = None  # set by the server on client events in presence channels
    data_json: str | None = None  # the JSON text ``data`` was decoded from, when it was one


def connection_path(key: str, version: str, prefix: str = "") -> str:
    """``PREFIX/app/KEY?protocol=7&client=wsdiag&version=X`` (the key URL-quoted).

    ``prefix`` is the server's path prefix, put in front as pusher-js puts its
    ``wsPath``: ``/custom/prefix`` → ``/custom/prefix/app/KEY?…``.
    """
    return (
        f"{prefix.rstrip('/')}/app/{quote(key, safe='')}?protocol={PROTOCOL_VERSION}"
        f"&client={CLIENT_NAME}&version={quote(version, safe='')}"
    )


# json.loads without its wrapper: the C scanner alone, as tail parses every frame of a
# burst (issue 13). ``_json_value`` keeps json.loads's rules: surrounding whitespace is
# fine, anything else after the value is an error.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


_JSON_OPENERS = frozenset('{["')
_JSON_SPACE = " \t\n\r"  # the whitespace JSON allows around a value (not Unicode spaces)


def _json_value(text: str) -> Any:
    try:
        try:
            value, end = _scan(text, 0)
        except StopIteration as stop:
            start = len(text) - len(text.lstrip(_JSON_SPACE))
            if not start:
                raise json.JSONDecodeError("Expecting value", text, stop.value) from None
            try:  # the value after leading whitespace
                value, end = _scan(text, start)
            except StopIteration as again:
                raise json.JSONDecodeError("Expecting value", text, again.value) from None
    except RecursionError:  # '[' * 100000 from a broken or hostile server: not a crash
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    if end != len(text) and text[end:].strip(_JSON_SPACE):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def parse_frame(text: str) -> PusherEvent:
    try:
        message = _json_value(text)
    except ValueError as exc:
        raise FrameError(f"not JSON ({exc.args[0] if exc.args else exc}): {text[:80]!r}") from None
    if not isinstance(message, dict):
        raise FrameError(f"a JSON {type(message).__name__}, not an object: {text[:80]!r}")
    event = message.get("event")
    if not isinstance(event, str) or not event:
        raise FrameError(f'no "event" name: {text[:80]!r}')
    channel = message.get("channel")
    if channel is not None and not isinstance(channel, str):
        raise FrameError(f'"channel" is not a string: {text[:80]!r}')
    user_id = message.get("user_id")
    data = message.get("data")
    decoded = decode_data(data)
    return PusherEvent(
        event,
        channel,
        decoded,
        text,
        None if user_id is None else str(user_id),
        data if decoded is not data and isinstance(data, str) else None,
    )


def decode_data(data: Any) -> Any:
    """Decode a double-encoded JSON string; anything else stays as it is."""
    if isinstance(data, str):
        if data[:1] in _JSON_OPENERS:  # the common case, without copying the text to strip it
            try:
                return _json_value(data)
            except ValueError:
                return data
        stripped = data.strip(_JSON_SPACE)
        if stripped[:1] in _JSON_OPENERS or stripped in ("true", "false", "null"):
            try:
                return _json_value(stripped)
            except ValueError:
                return data
    return data


def _frame(event: str, data: Any) -> str:
    return json.dumps({"event": event, "data": data}, separators=(",", ":"))


def ping_frame() -> str:
    return _frame("pusher:ping", {})


def pong_frame() -> str:
    return _frame("pusher:pong", {})


def subscribe_frame(channel: str, auth: str | None = None, channel_data: str | None = None) -> str:
    data: dict[str, str] = {"channel": channel}
    if auth is not None:
        data["auth"] = auth
    if channel_data is not None:
        data["channel_data"] = channel_data
    return _frame("pusher:subscribe", data)


def signin_frame(auth: str, user_data: str) -> str:
    """``pusher:signin`` (user authentication): ``user_data`` is the JSON string that was signed."""
    return _frame("pusher:signin", {"auth": auth, "user_data": user_data})


def unsubscribe_frame(channel: str) -> str:
    return _frame("pusher:unsubscribe", {"channel": channel})


def connection_established(event: PusherEvent) -> tuple[str, int | None]:
    """``(socket_id, activity_timeout)`` from ``pusher:connection_established``."""
    if event.event != "pusher:connection_established":
        raise FrameError(f"expected pusher:connection_established, got {event.event}")
    data = event.data
    if not isinstance(data, dict):
        raise FrameError("connection_established carries no JSON object")
    socket_id = data.get("socket_id")
    if not isinstance(socket_id, str) or not _SOCKET_ID.match(socket_id):
        raise FrameError(f"connection_established has an invalid socket_id: {socket_id!r}")
    timeout = data.get("activity_timeout")
    return socket_id, timeout if isinstance(timeout, int) and timeout > 0 else None


def error_of(event: PusherEvent) -> tuple[int | None, str]:
    """``(code, message)`` of ``pusher:error``; code is None when the server sent none."""
    data = event.data
    if isinstance(data, dict):
        code = data.get("code")
        message = data.get("message")
        return (code if isinstance(code, int) else None, str(message) if message else "")
    return None, str(data or "")
