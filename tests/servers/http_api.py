"""A scripted Pusher HTTP API on loopback: the replies Pusher's cloud gives that soketi does not.

soketi answers a bad signature with its own wording and never expires a
timestamp, answers 413 or 403 on demand, or sends a proxy's HTML page; this
server replies with exactly what its ``ApiReply`` says, and records requests.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler

from tests.servers.http import serve


@dataclass(frozen=True)
class ApiReply:
    status: int = 200
    body: str = "{}"
    content_type: str = "application/json"
    clock_offset_s: float = 0.0  # the server's clock (its Date header) minus ours
    delay_s: float = 0.0
    drip_s: float = 0.0  # the body one byte at a time, this long apart


@dataclass
class ApiServer:
    port: int
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path with query)


def _handler(
    reply: ApiReply, server: ApiServer, stop: threading.Event
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # the names http.server calls
            self._answer()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer()

        def _answer(self) -> None:
            # A test may stop the client mid-reply (Ctrl-C, a timeout): that is no server error.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._reply()

        def _reply(self) -> None:
            server.requests.append((self.command, self.path))
            if reply.delay_s:
                stop.wait(reply.delay_s)
            body = reply.body.encode()
            self.send_response_only(reply.status)
            self.send_header("Date", formatdate(time.time() + reply.clock_offset_s, usegmt=True))
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not reply.drip_s:
                self.wfile.write(body)
                return
            for offset in range(len(body)):
                self.wfile.write(body[offset : offset + 1])
                self.wfile.flush()
                if stop.wait(reply.drip_s):
                    return

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def http_api(reply: ApiReply) -> Iterator[ApiServer]:
    stop = threading.Event()
    server = ApiServer(0)
    try:
        with serve(_handler(reply, server, stop)) as port:
            server.port = port
            yield server
    finally:
        stop.set()  # a slow reply still sleeping gives up
