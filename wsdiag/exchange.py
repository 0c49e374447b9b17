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
from typing import TYPE_CHECKING, cast

from wsdiag.dialer import dial
from wsdiag.models import Stopwatch
from wsdiag.records import record

if TYPE_CHECKING:
    from wsdiag.proxy import Proxy
    from wsdiag.target import Endpoint

MAX_BODY = 1_000_000  # an API or auth reply is small; never read an endless body


@record
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
    deadline: float | None = None,
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
    stream = open_stream(
        endpoint,
        method,
        target,
        body=body,
        headers=headers,
        timeout=timeout,
        deadline=deadline,
        watch=watch,
        tls=tls,
        proxy=proxy,
        addresses=addresses,
    )
    try:
        with watch.phase("response"):
            data = stream.read(MAX_BODY)
    finally:
        stream.close()
    return HttpReply(stream.status, stream.reason, stream.headers, data)


class HttpStream:
    """A reply read as it arrives (pusher-js's xhr_streaming): status and headers, then data."""

    def __init__(
        self, sock: socket.socket, response: http.client.HTTPResponse, reader: _DeadlineReader
    ) -> None:
        self._sock, self._response, self._reader = sock, response, reader
        self.status = response.status
        self.reason = response.reason
        self.headers = {name.lower(): value for name, value in response.getheaders()}

    def read(self, limit: int) -> bytes:
        """The rest of the reply, up to ``limit`` bytes, by the deadline the head had."""
        return self._response.read(limit)

    def read_some(self, deadline: float) -> bytes:
        """What has arrived, unchunked; b"" at the end; TimeoutError at ``deadline``."""
        self._reader.deadline = deadline
        return self._response.read1(65536)

    def close(self) -> None:
        self._sock.close()


def open_stream(
    endpoint: Endpoint,
    method: str,
    target: str,
    *,
    body: bytes | None = b"",
    headers: Sequence[tuple[str, str]] = (),
    timeout: float,
    deadline: float | None = None,
    watch: Stopwatch,
    tls: ssl.SSLContext | None = None,
    proxy: Proxy | None = None,
    addresses: Sequence[str] | None = None,
) -> HttpStream:
    """Dial, send the request, read the reply's head (phase ``request``).

    The connection is made within ``timeout``; the head (and what ``read``
    reads) must arrive by ``deadline`` (monotonic), by default ``timeout``
    after the request. Raises as ``http_exchange`` does.
    """
    if deadline is not None:
        timeout = max(min(timeout, deadline - time.monotonic()), 0.001)
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
            reader = _DeadlineReader(sock, deadline or time.monotonic() + timeout)
            response = http.client.HTTPResponse(
                cast(socket.socket, _Reading(reader)), method=method
            )
            response.begin()
    except BaseException:
        sock.close()
        raise
    return HttpStream(sock, response, reader)


class _Reading:
    """What http.client takes for a socket: it only calls ``makefile("rb")``."""

    def __init__(self, reader: _DeadlineReader) -> None:
        self._reader = reader

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self._reader)


class _DeadlineReader(io.RawIOBase):
    """Socket reads that end by ``deadline`` (which the owner may move on)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self.deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        remaining = self.deadline - time.monotonic()
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

    host = f"[{endpoint.host}]" if ":" in endpoint.host else _ascii_host(endpoint.host)
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


def _ascii_host(host: str) -> str:
    """A name as the Host header carries it: IDNA (xn--…) for a name with other letters."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host.encode("ascii", "replace").decode("ascii")
