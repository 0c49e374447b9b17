"""TLS servers on loopback with certificates made by trustme: good, expired, wrong name, …

Each server completes (or deliberately botches) the handshake for every
connection until stopped. ``behaviour`` picks the fault.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
import struct
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme

NAME = "ws-test.wsdiag.invalid"


@dataclass(frozen=True)
class TlsServer:
    port: int
    ca_bundle: str  # PEM of the CA that signed the server's certificate
    # One entry per ClientHello a "silent" server swallowed: a test can wait for the
    # client to be inside its handshake instead of sleeping.
    hellos: list[int] = field(default_factory=list)


def make_context(
    ca: trustme.CA,
    *identities: str,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    tls10_only: bool = False,
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(
        *(identities or (NAME,)), not_before=not_before, not_after=not_after
    ).configure_cert(context)
    context.set_alpn_protocols(["http/1.1"])
    if tls10_only:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    return context


Handler = Callable[[socket.socket, threading.Event], None]


@contextlib.contextmanager
def serve_connections(listener: socket.socket, handle: Handler) -> Iterator[None]:
    """Accept on ``listener`` (bound and listening) until the block ends.

    Each connection goes to ``handle(conn, stop)`` in a thread of its own and is
    closed when it returns; ``stop`` is set when the block ends, so a handler that
    waits should wait on it. The listener is closed on the way out.
    """
    stop = threading.Event()
    listener.settimeout(0.2)  # so the loop sees ``stop`` between connections

    def handle_and_close(conn: socket.socket) -> None:
        try:
            handle(conn, stop)
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=handle_and_close, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def _handle(
    conn: socket.socket,
    stop: threading.Event,
    behaviour: str,
    context: ssl.SSLContext | None,
    hellos: list[int],
) -> None:
    try:
        conn.settimeout(5)
        if behaviour == "silent":  # accept TCP, read the ClientHello, never answer it
            with contextlib.suppress(OSError):
                if hello := conn.recv(4096):
                    hellos.append(len(hello))
            stop.wait(30)
        elif behaviour == "plaintext":  # an HTTP server on the TLS port
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        elif behaviour == "reset":  # read the ClientHello, then RST
            conn.recv(4096)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            assert context is not None
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
    except (OSError, ssl.SSLError):
        pass


@contextlib.contextmanager
def tls_server(
    tmp_path: Path,
    behaviour: str = "tls",
    *identities: str,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    tls10_only: bool = False,
    trusted_ca: bool = True,
) -> Iterator[TlsServer]:
    """A server with a certificate from a fresh CA; ``ca_bundle`` trusts it unless told not to."""
    ca = trustme.CA()
    context = None
    if behaviour == "tls":
        context = make_context(
            ca, *identities, not_before=not_before, not_after=not_after, tls10_only=tls10_only
        )
    bundle = tmp_path / f"ca-{id(ca)}.pem"
    (trustme.CA() if not trusted_ca else ca).cert_pem.write_to_path(str(bundle))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    server = TlsServer(int(listener.getsockname()[1]), str(bundle))
    handle = functools.partial(_handle, behaviour=behaviour, context=context, hellos=server.hellos)
    with serve_connections(listener, handle):
        yield server


def days_from_now(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)
