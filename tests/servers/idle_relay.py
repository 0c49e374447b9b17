"""A loopback TCP relay with an idle timeout, as load balancers and proxies have (issue 10).

Each accepted connection gets its own upstream connection and one thread that
copies bytes both ways. When no byte has passed in either direction for
``idle_timeout`` seconds the relay ends the connection: ``silent=False`` closes
both sides (the client sees a FIN: 1006), ``silent=True`` stops forwarding and
keeps both sockets open (a middlebox that forgets the flow: only a ping finds it).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class IdleRelay:
    host: str
    port: int

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"


def _serve(client: socket.socket, upstream: tuple[str, int], idle: float, silent: bool) -> None:
    try:
        server = socket.create_connection(upstream, timeout=5)
    except OSError:
        client.close()
        return
    peers = {client: server, server: client}
    selector = selectors.DefaultSelector()
    for sock in peers:
        sock.setblocking(True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        selector.register(sock, selectors.EVENT_READ)
    last = time.monotonic()
    try:
        while True:
            left = last + idle - time.monotonic()
            if left <= 0:
                break
            for key, _ in selector.select(left):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                data = sock.recv(65536)
                if not data:
                    return
                peers[sock].sendall(data)
                last = time.monotonic()
        if silent:  # forget the flow: nothing passes any more, nobody is told
            selector.close()
            while True:
                time.sleep(60)
    except OSError:
        pass
    finally:
        selector.close()
        for sock in peers:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@contextlib.contextmanager
def idle_relay(
    upstream: tuple[str, int], idle_timeout: float, *, silent: bool = False
) -> Iterator[IdleRelay]:
    """Listen on a free loopback port; every connection relayed to ``upstream``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            args = (conn, upstream, idle_timeout, silent)
            threading.Thread(target=_serve, args=args, daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield IdleRelay("127.0.0.1", port)
    finally:
        listener.close()
