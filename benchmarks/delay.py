"""A TCP relay that delays every byte by a fixed time each way, for the ping accuracy figure.

tc netem is not available on these machines (TESTBED.md), so latency is added in user space:
each chunk read is held until ``delay`` seconds after it arrived, then written on.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


def _forward(source: socket.socket, sink: socket.socket, delay: float) -> None:
    queue: list[tuple[float, bytes]] = []
    ready = threading.Condition()
    done = threading.Event()

    def reader() -> None:
        try:
            while chunk := source.recv(65536):
                with ready:
                    queue.append((time.monotonic() + delay, chunk))
                    ready.notify()
        except OSError:
            pass
        done.set()
        with ready:
            ready.notify()

    threading.Thread(target=reader, daemon=True).start()
    try:
        while True:
            with ready:
                while not queue and not done.is_set():
                    ready.wait()
                if not queue:
                    break
                due, chunk = queue.pop(0)
            time.sleep(max(0.0, due - time.monotonic()))
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        sink.close()


@contextmanager
def delay_relay(upstream: tuple[str, int], delay: float) -> Iterator[int]:
    """A loopback port whose connections reach ``upstream`` ``delay`` s later, each way."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve(client: socket.socket) -> None:
        server = socket.create_connection(upstream)
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_forward, args=(server, client, delay), daemon=True).start()
        _forward(client, server, delay)

    def accept_loop() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(client,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
