"""An open Pusher connection: the sans-I/O client driven over a WebSocket. The one receive loop.

``PusherSession.next_events`` reads frames from the socket, feeds them to
``wsdiag.pusher.client.PusherClient``, sends what the client wants sent (pongs,
keep-alive pings) and returns the client's typed events. The handshake in the
websocket stage, the ping, subscribe and delivery stages and ``tail`` all
wait through it, so none of them parses frames or keeps timers of its own.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from typing import Any

import websocket

from wsdiag import trace
from wsdiag.pusher.client import Event, PusherClient


class PusherSession:
    """One WebSocket connection and its Pusher client. Not thread-safe for concurrent reads."""

    def __init__(self, ws: Any, sock: socket.socket, label: str) -> None:
        self._ws = ws
        self._sock = sock
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

    def next_events(self, deadline: float) -> list[Event]:
        """The client's next events, waiting at most until ``deadline`` (time.monotonic).

        [] means the deadline passed with nothing to report. Keep-alive pings
        and pongs go out on the way; a connection found dead is a ``Closed``.
        """
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
        """One frame fed to the client; None when none came within ``timeout``."""
        self._ws.settimeout(max(timeout, 0.001))
        try:
            opcode, payload = self._ws.recv_data()  # answers WebSocket pings by itself
        except (websocket.WebSocketTimeoutException, TimeoutError):
            return None
        except websocket.WebSocketConnectionClosedException:
            return self.client.receive_close(1006, "the connection dropped without a close frame")
        except (websocket.WebSocketProtocolException, websocket.WebSocketPayloadException) as exc:
            now = time.monotonic()
            return self.client.receive_bad_frame(f"invalid WebSocket frame: {exc}", now)
        except (OSError, ssl.SSLError) as exc:
            return self.client.receive_close(1006, f"the connection broke: {exc}")
        now = time.monotonic()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            reason = payload[2:].decode("utf-8", "replace")
            trace.trace("<<", self.label, f"close {code} {reason}")
            return self.client.receive_close(code, reason)
        if opcode == websocket.ABNF.OPCODE_BINARY:
            trace.trace("<<", self.label, f"binary frame, {len(payload)} bytes")
            message = f"a binary frame of {len(payload)} bytes (Pusher sends text frames only)"
            return self.client.receive_bad_frame(message, now)
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)
        trace.trace("<<", self.label, text if len(text) <= 2000 else text[:2000] + "…")
        return self.client.receive_text(text, now)

    def close(self) -> None:
        try:
            self._ws.close(timeout=0.5)  # a polite close frame, when the peer is still there
        except Exception:  # a dead connection: nothing left to say
            pass
        finally:
            self._sock.close()
