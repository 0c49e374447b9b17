"""An open Pusher connection: the sans-I/O client driven over a WebSocket. The one receive loop.

``PusherSession.next_events`` reads frames from the socket, feeds them to
``wsdiag.pusher.client.PusherClient``, sends what the client wants sent (pongs,
keep-alive pings) and returns the client's typed events. The handshake in the
websocket stage, the ping, subscribe and delivery stages and ``tail`` all
wait through it, so none of them parses frames or keeps timers of its own.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from collections import deque
from typing import Any

import websocket

from wsdiag import trace
from wsdiag.pusher.client import Event, PusherClient
from wsdiag.websocket_frames import (
    OPCODE_CLOSE,
    OPCODE_PING,
    OPCODE_PONG,
    OPCODE_TEXT,
    ConnectionClosed,
    FrameError,
    FrameReader,
)


class PusherSession:
    """One WebSocket connection and its Pusher client. Not thread-safe for concurrent reads."""

    def __init__(self, ws: Any, sock: socket.socket, label: str) -> None:
        self._ws = ws  # for sending: websocket-client masks client frames
        self._sock = sock
        self._frames = FrameReader(sock)  # for reading: every frame of a read at once
        self._pending: deque[Event] = deque()  # events read but not yet taken
        self.label = label
        self.client = PusherClient(now=time.monotonic())
        self.server_activity_timeout: int | None = None  # what connection_established asked

    @property
    def socket_id(self) -> str:
        return self.client.socket_id or ""

    # ------------------------------------------------------------ sending

    def ping(self) -> None:
        self.client.ping(time.monotonic())
        self._flush()

    def subscribe(self, channel: str, auth: str | None = None, data: str | None = None) -> None:
        self.client.subscribe(channel, auth, data)
        self._flush()

    def send(self, frame: str) -> None:
        self.client.send(frame)
        self._flush()

    def control_ping(self, payload: bytes = b"wsdiag") -> None:
        """An RFC 6455 ping frame (not pusher:ping). A failed send needs no handling here:
        the next read finds the dead connection and says so as ``Closed``."""
        with contextlib.suppress(websocket.WebSocketException, OSError):
            self._ws.ping(payload)

    def _flush(self) -> None:
        for frame in self.client.frames_to_send():
            trace.trace(">>", self.label, frame)
            try:
                self._ws.send(frame)
            except (websocket.WebSocketException, OSError) as exc:
                # The read that follows sees the dead connection and says so as Closed.
                trace.trace("!!", self.label, f"send failed: {exc}")
                return

    # ---------------------------------------------------------- receiving

    def next_event(self, deadline: float) -> Event | None:
        """The client's next event, waiting at most until ``deadline`` (time.monotonic).

        None means the deadline passed with nothing to report. One read can
        bring many events; those not yet taken wait here for the next call, so
        a caller that stops at the event it wanted loses none of the others.
        """
        if not self._pending:
            self._pending.extend(self._wait(deadline))
        return self._pending.popleft() if self._pending else None

    def next_events(self, deadline: float) -> list[Event]:
        """Every event available now (waiting at most until ``deadline`` for the first)."""
        first = self.next_event(deadline)
        if first is None:
            return []
        events = [first, *self._pending]
        self._pending.clear()
        return events

    def _wait(self, deadline: float) -> list[Event]:
        """Keep-alive pings and pongs go out on the way; a dead connection is a ``Closed``."""
        while True:
            self._flush()
            now = time.monotonic()
            if now >= deadline:
                return self._tick(now)
            wake = deadline
            timer = self.client.next_deadline()
            if timer is not None:
                wake = min(wake, max(timer, now))
            events = self._read(wake - now)
            if events is None:  # nothing arrived before the wake-up
                events = self._tick(time.monotonic())
            if events:
                self._flush()
                return events

    def _tick(self, now: float) -> list[Event]:
        events = self.client.tick(now)
        self._flush()
        return events

    def _read(self, timeout: float) -> list[Event] | None:
        """Every complete frame one read brings, fed to the client; None when nothing came."""
        try:
            frames = self._frames.read(timeout)
        except FrameError as exc:
            # Bad framing desynchronises the stream: the connection is over (RFC 6455
            # §7.1.7, 1002), as for pusher-js; a bad but well-framed message is not.
            self._sock.close()
            return self.client.receive_close(1002, f"invalid WebSocket framing: {exc}")
        except ConnectionClosed as exc:
            return self.client.receive_close(1006, str(exc))
        if not frames:
            return None
        now = time.monotonic()
        events: list[Event] = []
        texts: list[str] = []  # consecutive text frames go to the client in one call
        tracing = trace.enabled()
        for opcode, payload in frames:
            if opcode == OPCODE_TEXT:
                text = payload.decode("utf-8", "replace")
                if tracing:
                    trace.trace("<<", self.label, text if len(text) <= 2000 else text[:2000] + "…")
                texts.append(text)
                continue
            if texts:
                events += self.client.receive_texts(texts, now)
                texts = []
            events += self._control_or_binary(opcode, payload, now)
        if texts:
            events += self.client.receive_texts(texts, now)
        return events

    def _control_or_binary(self, opcode: int, payload: bytes, now: float) -> list[Event]:
        if opcode == OPCODE_CLOSE:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            reason = payload[2:].decode("utf-8", "replace")
            trace.trace("<<", self.label, f"close {code} {reason}")
            return self.client.receive_close(code, reason)
        if opcode == OPCODE_PING:
            with contextlib.suppress(websocket.WebSocketException, OSError):
                self._ws.pong(payload)  # RFC 6455 §5.5.2: echo the application data
            return []
        if opcode == OPCODE_PONG:
            return []
        trace.trace("<<", self.label, f"binary frame, {len(payload)} bytes")
        message = f"a binary frame of {len(payload)} bytes (Pusher sends text frames only)"
        return self.client.receive_bad_frame(message, now)

    def more_ready(self) -> bool:
        """Whether an event is waiting, or a read now returns at once (bytes buffered here,
        in TLS or in the kernel)."""
        return bool(self._pending) or self._frames.more_ready()

    def close(self) -> None:
        try:
            self._ws.close(timeout=0.5)  # a polite close frame, when the peer is still there
        except Exception:  # a dead connection: nothing left to say
            pass
        finally:
            self._sock.close()
