"""A loopback Pusher server that bursts events as fast as the socket takes them.

It does the Pusher handshake, confirms the first subscription, then writes
``count`` events of about ``payload_bytes`` each, carrying sequence numbers
(``{"seq": N, "pad": "x…"}``), in large writes. Tests use it to prove ``tail``
loses and reorders nothing at full speed; benchmarks/burst.py times readers on it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CHANNEL = "bench"
CHUNK = 5000  # events per write


def _frame(payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        head = bytes([0x81, size])
    elif size < 65536:
        head = bytes([0x81, 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x81, 127]) + size.to_bytes(8, "big")
    return head + payload


def _event_maker(pad: str) -> Callable[[int], bytes]:
    """The frame of event ``seq``: the JSON that ``json.dumps`` would write, put together from
    a template, so the server spends little CPU per event beside the reader it is timing
    (benchmarks run both on one machine)."""
    head = f'{{"event":"tick","channel":"{CHANNEL}","data":"{{\\"seq\\":'.encode()
    tail = f',\\"pad\\":\\"{pad}\\"}}"}}'.encode()

    def event(seq: int) -> bytes:
        return _frame(head + str(seq).encode() + tail)

    return event


def _read_client_frame(sock: socket.socket, buffer: bytearray) -> bytes:
    """The payload of the next masked client frame (the reader's subscribe)."""
    while True:
        if len(buffer) >= 2:
            size, offset = buffer[1] & 0x7F, 2
            if size == 126:
                size, offset = int.from_bytes(buffer[2:4], "big"), 4
            elif size == 127:
                size, offset = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) >= offset + 4 + size:
                mask = buffer[offset : offset + 4]
                body = buffer[offset + 4 : offset + 4 + size]
                del buffer[: offset + 4 + size]
                return bytes(b ^ mask[i % 4] for i, b in enumerate(body))
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the reader left before subscribing")
        buffer += chunk


@dataclass
class BurstServer:
    port: int
    subscribed_at: list[float]  # perf_counter when each reader subscribed


@contextmanager
def burst_server(count: int, payload_bytes: int) -> Iterator[BurstServer]:
    """Serves each connection: handshake, subscription, then ``count`` events."""
    listener = socket.create_server(("127.0.0.1", 0))
    server = BurstServer(listener.getsockname()[1], [])
    event = _event_maker("x" * max(0, payload_bytes - 60))

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            key = next(
                line.split(b":", 1)[1].strip()
                for line in request.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            established = json.dumps({"socket_id": "1.1", "activity_timeout": 120})
            conn.sendall(
                _frame(
                    json.dumps(
                        {"event": "pusher:connection_established", "data": established}
                    ).encode()
                )
            )
            buffer = bytearray()
            while b"pusher:subscribe" not in _read_client_frame(conn, buffer):
                pass
            succeeded = {"event": "pusher_internal:subscription_succeeded", "channel": CHANNEL}
            conn.sendall(_frame(json.dumps({**succeeded, "data": "{}"}).encode()))
            server.subscribed_at.append(time.perf_counter())
            try:
                for start in range(0, count, CHUNK):
                    end = min(count, start + CHUNK)
                    conn.sendall(b"".join(map(event, range(start, end))))
                conn.recv(1)  # hold the connection until the reader leaves
            except OSError:
                pass

    def accept_loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    try:
        yield server
    finally:
        listener.close()
