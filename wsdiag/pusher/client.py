"""A sans-I/O Pusher protocol 7 client: fed frames and the time, it says what happened.

No sockets and no clock of its own, as python-websockets' ``Protocol``: the
caller feeds it every text frame (``receive_text``), close (``receive_close``)
and the passing of time (``tick``), sends what ``frames_to_send`` returns, and
acts on the events each call returns. Every receive loop in wsdiag (the
websocket, ping, subscribe and delivery stages, ``tail``) drives this one
object, so the handshake rules, keep-alive and reconnect policy are written
once and tested without a network (tests/pusher/test_client.py).

The rules follow pusher-js: the first frame must be
``pusher:connection_established`` (anything else is an invalid handshake); a
client that heard nothing for ``activity_timeout`` (the lower of its own and
the server's) sends ``pusher:ping`` and gives the connection up as dead when
no pong comes within ``pong_timeout``; the server's ``pusher:ping`` is answered
with ``pusher:pong``; after a close the code decides what to do next.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from wsdiag.pusher.codes import Reconnect, explain_code
from wsdiag.pusher.frames import (
    FrameError,
    PusherEvent,
    connection_established,
    error_of,
    parse_frame,
    ping_frame,
    pong_frame,
    subscribe_frame,
)
from wsdiag.records import record

ACTIVITY_TIMEOUT_S = 120.0  # pusher-js's activityTimeout
PONG_TIMEOUT_S = 30.0  # pusher-js's pongTimeout


class State(StrEnum):
    CONNECTING = "connecting"  # upgraded, waiting for connection_established
    CONNECTED = "connected"
    CLOSED = "closed"


# ------------------------------------------------------------------ events


@record
class Connected:
    socket_id: str
    activity_timeout: int | None  # what the server asked for, None when it sent none


@record
class HandshakeFailed:
    """No connection_established: a Pusher error/close code, or a frame that is not one."""

    code: int | None  # the Pusher or WebSocket code, when there was one
    message: str
    bad_frame: bool = False  # the server sent something that is not a Pusher handshake


@record
class Subscribed:
    channel: str
    data: Any  # presence: {"presence": {...}}


@record
class SubscriptionFailed:
    channel: str | None
    message: str


@record
class Pong:
    rtt_s: float | None  # from the ping this client sent; None for an unasked pong


@dataclass(slots=True)  # one per event of a burst: slotted, not frozen (see PusherEvent)
class Message:
    """Any other frame: an app event, presence changes, protocol chatter."""

    event: PusherEvent


@record
class ServerError:
    """``pusher:error`` after the handshake (the connection stays open)."""

    code: int | None
    message: str


@record
class BadFrame:
    message: str


@record
class Closed:
    """The connection is over: by the server, by the path, or found dead by a missing pong."""

    code: int
    reason: str
    next_step: Reconnect  # what pusher-js would do now


Event = (
    Connected
    | HandshakeFailed
    | Subscribed
    | SubscriptionFailed
    | Pong
    | Message
    | ServerError
    | BadFrame
    | Closed
)


# ------------------------------------------------------------------ client


@dataclass
class PusherClient:
    """One connection's protocol state. Times are the caller's monotonic seconds."""

    now: float
    activity_timeout: float = ACTIVITY_TIMEOUT_S
    pong_timeout: float = PONG_TIMEOUT_S
    state: State = State.CONNECTING
    socket_id: str | None = None
    _outbox: list[str] = field(default_factory=list)
    _last_heard: float = 0.0
    _ping_sent: float | None = None
    _pong_due: float | None = None

    def __post_init__(self) -> None:
        self._last_heard = self.now

    # ------------------------------------------------------------ sending

    def frames_to_send(self) -> list[str]:
        """Frames the client wants sent, oldest first; the list is emptied."""
        frames, self._outbox = self._outbox, []
        return frames

    def ping(self, now: float) -> None:
        """Send ``pusher:ping`` now (the ping stage); the pong arrives as ``Pong``."""
        self._outbox.append(ping_frame())
        self._ping_sent, self._pong_due = now, now + self.pong_timeout

    def subscribe(self, channel: str, auth: str | None = None, data: str | None = None) -> None:
        self._outbox.append(subscribe_frame(channel, auth=auth, channel_data=data))

    def send(self, frame: str) -> None:
        """Any other frame (client events, unsubscribe)."""
        self._outbox.append(frame)

    # ---------------------------------------------------------- receiving

    def receive_text(self, text: str, now: float) -> list[Event]:
        """One text frame from the server."""
        return self.receive_texts((text,), now)

    def receive_texts(self, texts: Iterable[str], now: float) -> list[Event]:
        """The text frames one read brought, in order: a burst costs one call, not one per
        frame, and an app event (a name not starting with "pusher") goes straight through."""
        self._last_heard = now
        events: list[Event] = []
        for text in texts:
            try:
                event = parse_frame(text)
            except FrameError as exc:
                if self.state is State.CONNECTING:
                    events += self._handshake_failed(None, f"bad frame: {exc}", bad_frame=True)
                else:
                    events.append(BadFrame(str(exc)))
                continue
            if self.state is State.CONNECTING:
                events += self._handshake(event)
            elif event.event.startswith("pusher"):
                events += self._connected_event(event, now)
            else:
                self._pong_due = None  # any frame proves the connection alive
                events.append(Message(event))
        return events

    def receive_bad_frame(self, message: str, now: float) -> list[Event]:
        """A frame that is not a Pusher text frame (binary, invalid WebSocket framing)."""
        self._last_heard = now
        if self.state is State.CONNECTING:
            return self._handshake_failed(None, f"bad frame: {message}", bad_frame=True)
        return [BadFrame(message)]

    def receive_close(self, code: int, reason: str) -> list[Event]:
        """The connection closed (1006 when it dropped without a close frame)."""
        if self.state is State.CLOSED:
            return []
        if self.state is State.CONNECTING:
            return self._handshake_failed(code, reason)
        self.state = State.CLOSED
        return [Closed(code, reason, explain_code(code).reconnect)]

    # ------------------------------------------------------------- timers

    def next_deadline(self) -> float | None:
        """When ``tick`` has something to do (a ping or a pong timeout); None: nothing."""
        if self.state is not State.CONNECTED:
            return None
        if self._pong_due is not None:
            return self._pong_due
        return self._last_heard + self.activity_timeout

    def tick(self, now: float) -> list[Event]:
        """Time has passed: ping a quiet connection, give up one whose pong never came."""
        if self.state is not State.CONNECTED:
            return []
        if self._pong_due is not None:
            if now < self._pong_due:
                return []
            self.state = State.CLOSED
            # pusher-js closes such a connection itself and reconnects at once (4201).
            message = f"no pusher:pong within {self.pong_timeout:g} s: the connection is dead"
            return [Closed(4201, message, "immediately")]
        if now >= self._last_heard + self.activity_timeout:
            self.ping(now)
            self._ping_sent = None  # a keep-alive, not a measurement
        return []

    # ------------------------------------------------------------ helpers

    def _handshake(self, event: PusherEvent) -> list[Event]:
        if event.event == "pusher:connection_established":
            try:
                socket_id, activity = connection_established(event)
            except FrameError as exc:
                return self._handshake_failed(None, str(exc), bad_frame=True)
            self.state, self.socket_id = State.CONNECTED, socket_id
            if activity is not None:
                self.activity_timeout = min(self.activity_timeout, float(activity))
            return [Connected(socket_id, activity)]
        if event.event == "pusher:error":
            code, message = error_of(event)
            return self._handshake_failed(code, message)
        # pusher-js gives up on any other first event ("Invalid handshake"), and so do we.
        size = len(event.raw.encode())
        shown = event.event if len(event.event) <= 60 else event.event[:60] + "…"
        message = f"first frame was {shown!r} ({size:,} bytes), not pusher:connection_established"
        return self._handshake_failed(None, message, bad_frame=True)

    def _handshake_failed(
        self, code: int | None, message: str, *, bad_frame: bool = False
    ) -> list[Event]:
        self.state = State.CLOSED
        return [HandshakeFailed(code, message, bad_frame)]

    def _connected_event(self, event: PusherEvent, now: float) -> list[Event]:
        name = event.event
        if name == "pusher:pong":
            rtt = now - self._ping_sent if self._ping_sent is not None else None
            self._ping_sent = self._pong_due = None
            return [Pong(rtt)]
        self._pong_due = None  # any frame proves the connection alive
        if name == "pusher:ping":
            self._outbox.append(pong_frame())
            return []
        if name == "pusher_internal:subscription_succeeded" and event.channel:
            return [Subscribed(event.channel, event.data)]
        if name == "pusher:subscription_error":
            return [SubscriptionFailed(event.channel, _text(event.data))]
        if name == "pusher:error":
            code, message = error_of(event)
            return [ServerError(code, message)]
        return [Message(event)]


def _text(data: Any) -> str:
    """A subscription_error's data in words: soketi's ``{"type", "error", "status"}`` read out.

    Never ``str()`` of a dict: that is a Python repr in a user's report (issue 14).
    """
    if isinstance(data, str):
        return data
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, str):
        extra = [str(data["type"])] if data.get("type") else []
        extra += [f"status {data['status']}"] if data.get("status") is not None else []
        return error + (f" ({', '.join(extra)})" if extra else "")
    return json.dumps(data, ensure_ascii=False)
