"""One HTTP/1.1 request and its whole reply, over a connection from the dialer.

Used by the HTTP API client and the auth-endpoint tester, so both connect,
time and fail the same way. stdlib ``http.client`` parses the reply; the
request is written by hand so it leaves in one write (see ``request_bytes``).
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from wsdiag.dialer import dial
from wsdiag.models import Stopwatch

if TYPE_CHECKING:
    from wsdiag.proxy import Proxy
    from wsdiag.target import Endpoint

MAX_BODY = 1_000_000  # an API or auth reply is small; never read an endless body


@dataclass(frozen=True)
class HttpReply:
    status: int
    reason: str
    headers: dict[str, str]  # names lower-cased
    body: bytes


def http_exchange(
    endpoint: Endpoint,
    method: str,
    target: str,
    *,
    body: bytes | None = None,
    headers: Sequence[tuple[str, str]] = (),
    timeout: float,
    watch: Stopwatch,
    tls: ssl.SSLContext | None = None,
    proxy: Proxy | None = None,
    addresses: Sequence[str] | None = None,
) -> HttpReply:
    """Dial ``endpoint``, send the request, read the reply (phases ``request``, ``response``).

    The reply must arrive whole within ``timeout`` of the request, not each
    read: a server dripping a byte at a time must not stretch the wait to
    timeout x bytes. Raises DialError when no connection was made;
    TimeoutError, OSError or http.client.HTTPException when the exchange
    itself failed.
    """
    conn = dial(
        endpoint.host,
        endpoint.port,
        timeout=timeout,
        watch=watch,
        addresses=addresses,
        proxy=proxy,
        tls=tls,
    )
    sock = conn.sock
    try:
        with watch.phase("request"):
            sock.sendall(request_bytes(endpoint, method, target, body, headers))
            reply_by = _ReplyWithin(sock, time.monotonic() + timeout)
            # http.client only calls makefile("rb") on what it is given.
            response = http.client.HTTPResponse(cast(socket.socket, reply_by), method=method)
            response.begin()
        with watch.phase("response"):
            data = response.read(MAX_BODY)
    finally:
        sock.close()
    return HttpReply(
        response.status,
        response.reason,
        {name.lower(): value for name, value in response.getheaders()},
        data,
    )


class _ReplyWithin:
    """The socket as http.client reads the reply: every read ends by one deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self._deadline = sock, deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self._deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)


def request_bytes(
    endpoint: Endpoint,
    method: str,
    target: str,
    body: bytes | None,
    headers: Sequence[tuple[str, str]] = (),
) -> bytes:
    """The whole request in one buffer, sent with one write.

    http.client writes the head and the body separately; a proxy or balancer
    relaying them with Nagle on may then hold the body until the server ACKs
    the head, which it delays for up to 40 ms. One write leaves nothing to
    hold back (the same stall on the receiving side: checks/websocket.py).
    """
    from wsdiag import __version__

    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    default_port = 443 if endpoint.tls else 80
    authority = host if endpoint.port == default_port else f"{host}:{endpoint.port}"
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: {authority}",
        f"User-Agent: wsdiag/{__version__}",
        "Accept-Encoding: identity",
        "Connection: close",
    ]
    given = {name.lower() for name, _ in headers}
    lines += [f"{name}: {value}" for name, value in headers]
    if body is not None:
        if "content-type" not in given:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
