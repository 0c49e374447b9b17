"""A scriptable WebSocket server speaking just enough Pusher to inject faults.

Real servers (soketi) never send a 426, a captive-portal page, a binary frame
or a 4004 on demand; this one does exactly what its ``Script`` says. Our own
minimal RFC 6455 server framing: a fake for faults, not a reference.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import hashlib
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def established(socket_id: str = "123.456", activity_timeout: int = 120) -> tuple[str, Any]:
    data = json.dumps({"socket_id": socket_id, "activity_timeout": activity_timeout})
    return ("text", json.dumps({"event": "pusher:connection_established", "data": data}))


def pusher_error(code: int | None, message: str = "error") -> tuple[str, Any]:
    return (
        "text",
        json.dumps({"event": "pusher:error", "data": {"code": code, "message": message}}),
    )


def channel_event(channel: str, name: str, data: object) -> tuple[str, Any]:
    """An app event as the server sends it: ``data`` JSON-encoded into a string."""
    return ("text", json.dumps({"event": name, "channel": channel, "data": json.dumps(data)}))


def close(code: int, reason: str = "") -> tuple[str, Any]:
    return ("close", struct.pack("!H", code) + reason.encode())


@dataclass
class Script:
    """What the server does with each connection."""

    upgrade_reply: bytes | None = None  # a raw HTTP reply instead of 101
    silent: bool = False  # read the request, never answer
    bad_accept: bool = False  # 101 with a wrong Sec-WebSocket-Accept
    actions: list[tuple[str, Any]] = field(default_factory=list)  # after 101
    answer_pings: bool = True  # pusher:ping → pusher:pong
    pong_delay: float = 0.0
    hold: float = 30.0  # keep the connection this long after the actions
    confirm_subscriptions: bool = True  # pusher:subscribe → subscription_succeeded
    refuse_subscriptions: str | None = None  # pusher:subscribe → this pusher:subscription_error
    after_subscribe: list[tuple[str, Any]] = field(default_factory=list)  # once, after the first
    # As Laravel Reverb: the host part of Origin matched (wildcards allowed) against these;
    # any other origin gets pusher:error 4009 "Origin not allowed", the socket left open.
    allowed_origins: tuple[str, ...] | None = None


def _origin_allowed(request: str, script: Script) -> bool:
    origin = next(
        (line.split(":", 1)[1].strip() for line in request.split("\r\n")
         if line.lower().startswith("origin:")),
        "",
    )  # fmt: skip
    host = urlsplit(origin).hostname or ""
    return any(fnmatch.fnmatch(host, pattern) for pattern in script.allowed_origins or ())


class ScriptedServer:
    """Connection N follows ``scripts[N]`` (the last one repeats)."""

    # The HTTP API shares the port on self-hosted servers: requests to /apps/… get
    # this reply (accepted, and nothing is ever delivered: lost events on demand).
    API_REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    NO_FALLBACK = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"

    def __init__(self, script: Script | list[Script], tls: ssl.SSLContext | None = None) -> None:
        self.scripts = script if isinstance(script, list) else [script]
        self.connections = 0
        self.tls = tls
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port = int(self.listener.getsockname()[1])
        self.requests: list[str] = []
        self.received: list[str] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.listener.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        try:
            if self.tls is not None:
                conn.settimeout(5)
                conn = self.tls.wrap_socket(conn, server_side=True)
                conn.settimeout(0.2)
            request = self._read_request(conn)
            if request is None:
                return
            path = request.split(" ", 2)[1]
            if path.startswith("/apps/"):
                self.requests.append(request)
                conn.sendall(self.API_REPLY)
                return
            if path.startswith("/pusher/") or "sec-websocket-key:" not in request.lower():
                # pusher-js's HTTP fallback (check's fallback stage), health routes (server):
                # none here, as in soketi. Not a WebSocket connection: it takes no script
                # and is not in ``requests``.
                conn.sendall(self.NO_FALLBACK)
                return
            self.requests.append(request)
            script = self.scripts[min(self.connections, len(self.scripts) - 1)]
            self.connections += 1
            self._respond(conn, request, script)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def _read_request(self, conn: socket.socket) -> str | None:
        data = b""
        while b"\r\n\r\n" not in data:
            if self._stop.is_set():
                return None
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                continue
            if not chunk:
                return None
            data += chunk
        return data.decode("latin-1")

    def _respond(self, conn: socket.socket, request: str, script: Script) -> None:
        if script.silent:
            self._wait(script.hold)
            return
        if script.upgrade_reply is not None:
            conn.sendall(script.upgrade_reply)
            self._wait(0.5)
            return
        key = next(
            line.split(":", 1)[1].strip()
            for line in request.split("\r\n")
            if line.lower().startswith("sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if script.bad_accept:
            accept = base64.b64encode(b"x" * 20).decode()
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        actions = script.actions
        if script.allowed_origins is not None and not _origin_allowed(request, script):
            actions = [pusher_error(4009, "Origin not allowed")]
        if self._perform(conn, actions):
            self._converse(conn, script)

    def _perform(self, conn: socket.socket, actions: list[tuple[str, Any]]) -> bool:
        """Run actions; False when they ended the connection."""
        for kind, payload in actions:
            if kind == "drop":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return False
            if kind == "sleep":
                self._wait(payload)
                continue
            opcode = {"text": 0x1, "binary": 0x2, "close": 0x8}[kind]
            conn.sendall(frame(opcode, payload if isinstance(payload, bytes) else payload.encode()))
            if kind == "close":
                self._wait(0.5)
                return False
        return True

    def _converse(self, conn: socket.socket, script: Script) -> None:
        """Answer pings and subscriptions until the client leaves or ``hold`` runs out."""
        subscribed_once = False
        deadline = time.monotonic() + script.hold
        buffer = b""
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return
            buffer += chunk
            while (parsed := parse_client_frame(buffer)) is not None:
                opcode, payload, buffer = parsed
                if opcode == 0x8:
                    return
                if opcode != 0x1:
                    continue
                text = payload.decode()
                self.received.append(text)
                message = json.loads(text)
                if script.answer_pings and message.get("event") == "pusher:ping":
                    self._wait(script.pong_delay)
                    conn.sendall(
                        frame(0x1, json.dumps({"event": "pusher:pong", "data": {}}).encode())
                    )
                if message.get("event") == "pusher:subscribe" and script.refuse_subscriptions:
                    refused = {
                        "event": "pusher:subscription_error",
                        "channel": message["data"]["channel"],
                        "data": {
                            "type": "AuthError",
                            "error": script.refuse_subscriptions,
                            "status": 401,
                        },
                    }
                    conn.sendall(frame(0x1, json.dumps(refused).encode()))
                elif message.get("event") == "pusher:subscribe" and script.confirm_subscriptions:
                    succeeded = {
                        "event": "pusher_internal:subscription_succeeded",
                        "data": "{}",
                        "channel": message["data"]["channel"],
                    }
                    conn.sendall(frame(0x1, json.dumps(succeeded).encode()))
                    if not subscribed_once:
                        subscribed_once = True
                        if not self._perform(conn, script.after_subscribe):
                            return

    def _wait(self, seconds: float) -> None:
        self._stop.wait(seconds)


def frame(opcode: int, payload: bytes) -> bytes:
    """A server frame: FIN set, unmasked."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 65536:
        head += bytes([126]) + struct.pack("!H", size)
    else:
        head += bytes([127]) + struct.pack("!Q", size)
    return head + payload


def parse_client_frame(buffer: bytes) -> tuple[int, bytes, bytes] | None:
    """(opcode, unmasked payload, rest) of one masked client frame, or None if incomplete."""
    if len(buffer) < 2:
        return None
    opcode, size, offset = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
    if size == 126:
        if len(buffer) < 4:
            return None
        size, offset = struct.unpack("!H", buffer[2:4])[0], 4
    elif size == 127:
        if len(buffer) < 10:
            return None
        size, offset = struct.unpack("!Q", buffer[2:10])[0], 10
    if len(buffer) < offset + 4 + size:
        return None
    mask = buffer[offset : offset + 4]
    body = buffer[offset + 4 : offset + 4 + size]
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(body))
    return opcode, payload, buffer[offset + 4 + size :]


@contextlib.contextmanager
def scripted_server(script: Script, tls: ssl.SSLContext | None = None) -> Iterator[ScriptedServer]:
    server = ScriptedServer(script, tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()
