"""pusher-js's HTTP fallback endpoint on loopback, speaking the fallback's first frames.

Pusher's ``sockjs-CLUSTER.pusher.com`` cannot be reached from the test bed,
and soketi and Reverb have no fallback routes, so this server plays it:

- ``POST /pusher/app/KEY/N/SESSION/xhr_streaming``: 200, SockJS's 2 KiB ``h``
  prelude, ``o``, then ``a["{…pusher:connection_established…}"]`` and a
  heartbeat every second while the client stays (``Connection: close`` ends
  the body);
- ``POST …/xhr`` (polling): the session's first request gets ``o``, the next
  the handshake, later ones a heartbeat;
- ``POST …/xhr_send``: 204.

A key other than the server's gets the open frame, ``pusher:error`` 4001 and
``c[4001, …]``, as a cluster that does not know the app. ``buffered=True``
plays a proxy that buffers streamed replies: the stream's 200 comes, its
frames never do (polling still works, as through such a proxy). Every
request's method and path is recorded.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.servers.http import serve

_ROUTE = re.compile(r"^/pusher/app/([^/]+)/(\d+/[^/]+)/(xhr_streaming|xhr|xhr_send)(?:\?.*)?$")
PRELUDE = b"h" * 2048 + b"\n"
SOCKET_ID = "1234.5678"


@dataclass
class FallbackServer:
    key: str
    port: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)  # session -> requests so far


def _frame(event: str, data: object) -> str:
    return json.dumps({"event": event, "data": json.dumps(data)})


def _handshake() -> bytes:
    established = _frame(
        "pusher:connection_established", {"socket_id": SOCKET_ID, "activity_timeout": 120}
    )
    return b"a" + json.dumps([established]).encode() + b"\n"


def _refusal(key: str) -> bytes:
    message = f"App key {key} not in this cluster. Did you forget to specify the cluster?"
    error = json.dumps({"event": "pusher:error", "data": {"code": 4001, "message": message}})
    return (
        b"a"
        + json.dumps([error]).encode()
        + b"\n"
        + b"c"
        + json.dumps([4001, message]).encode()
        + b"\n"
    )


def _handler(
    server: FallbackServer, stop: threading.Event, buffered: bool
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # the name http.server calls
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            server.requests.append((self.command, self.path))
            route = _ROUTE.match(self.path)
            if route is None:
                self._reply(404, b"")
                return
            key, session, transport = route.groups()
            if transport == "xhr_send":
                self._reply(204, b"")
            elif key != server.key:
                self._reply(200, b"o\n" + _refusal(key))
            elif transport == "xhr":
                count = server.polls[session] = server.polls.get(session, 0) + 1
                self._reply(200, {1: b"o\n", 2: _handshake()}.get(count, b"h\n"))
            else:
                self._stream()

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response_only(status)
            self.send_header("Content-Type", "application/javascript; charset=UTF-8")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self) -> None:
            self.send_response_only(200)
            self.send_header("Content-Type", "application/javascript; charset=UTF-8")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()
            if buffered:  # a buffering proxy holds every frame until the reply ends
                stop.wait(30)
                return
            try:
                self.wfile.write(PRELUDE + b"o\n" + _handshake())
                self.wfile.flush()
                for _ in range(30):
                    if stop.wait(1):
                        return
                    self.wfile.write(b"h\n")
                    self.wfile.flush()
            except OSError:  # the client went away: the usual end of a stream
                return

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def fallback_server(key: str, *, buffered: bool = False) -> Iterator[FallbackServer]:
    stop = threading.Event()
    server = FallbackServer(key)
    try:
        with serve(_handler(server, stop, buffered)) as port:
            server.port = port
            yield server
    finally:
        stop.set()
