"""A TCP relay to a real server, optionally terminating TLS: "soketi behind a TLS front".

The listening socket is passed in, so a test can bind it inside a network
namespace (``netns.run_in_namespace``) behind real firewall rules while the
relay's threads and the upstream connection stay in the test process. Each
accepted connection gets its own upstream connection; bytes are copied both
ways as they come, Nagle off, as a load balancer in TCP mode does.

``relay_on`` does all of that for a list of addresses that share one port (a
dual-stack front), optionally listening inside a namespace.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence

from tests.servers.netns import run_in_namespace


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except (OSError, ssl.SSLError):
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _serve_one(
    conn: socket.socket, upstream: tuple[str, int], context: ssl.SSLContext | None
) -> None:
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client: socket.socket = conn
        if context is not None:
            conn.settimeout(5)
            client = context.wrap_socket(conn, server_side=True)
            client.settimeout(None)
        server = socket.create_connection(upstream, timeout=5)
        server.settimeout(None)
        server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, ssl.SSLError):
        conn.close()
        return
    back = threading.Thread(target=_pump, args=(server, client), daemon=True)
    back.start()
    _pump(client, server)
    back.join(timeout=5)
    client.close()
    server.close()


@contextlib.contextmanager
def relay(
    listener: socket.socket, upstream: tuple[str, int], context: ssl.SSLContext | None = None
) -> Iterator[None]:
    """Serve ``listener`` (bound and listening) until the block ends."""
    from tests.servers.tls import serve_connections

    with serve_connections(listener, lambda conn, _stop: _serve_one(conn, upstream, context)):
        yield


def listening_socket(address: str, port: int) -> socket.socket:
    """A listening TCP socket (call it inside a namespace to listen there)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((address, port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


def listening_sockets(addresses: Sequence[str], port: int = 0) -> list[socket.socket]:
    """One listening socket per address, all on ``port`` (0: a port free on every address)."""
    for _ in range(20):  # port 0: the port the kernel gives the first may be taken on another
        sockets: list[socket.socket] = []
        chosen = port
        try:
            for address in addresses:
                sockets.append(listening_socket(address, chosen))
                chosen = sockets[-1].getsockname()[1]
            return sockets
        except OSError:
            for sock in sockets:
                sock.close()
            if port:
                raise
    raise RuntimeError(f"no port free on all of {addresses}")


@contextlib.contextmanager
def relay_on(
    addresses: Sequence[str],
    upstream: tuple[str, int],
    port: int = 0,
    *,
    context: ssl.SSLContext | None = None,
    namespace: str | None = None,
) -> Iterator[int]:
    """Relay ``addresses`` on one port to ``upstream`` until the block ends; yields the port.

    ``namespace``: listen inside that network namespace, behind its firewall, while
    the upstream connections leave from the test process's own namespace.
    """
    if namespace is None:
        listeners = listening_sockets(addresses, port)
    else:
        listeners = run_in_namespace(namespace, listening_sockets, addresses, port)
    with contextlib.ExitStack() as stack:
        for listener in listeners:
            stack.enter_context(relay(listener, upstream, context))
        yield int(listeners[0].getsockname()[1])


@contextlib.contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound, never listening, held to the end,
    so no other process can take the number while the test relies on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
