"""Socket plumbing shared by the stages: TCP connect and TLS wrap, always with a timeout.

These functions raise the OS / ssl exceptions as they are; each stage maps
them to its own error kinds (``reach`` for TCP, ``tls`` for the handshake).
"""

from __future__ import annotations

import socket
import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsdiag.proxy import Proxy


def first_address(host: str, port: int, timeout: float) -> str:
    """The first address the system resolver gives for ``host``, waiting at most ``timeout``.

    getaddrinfo takes no timeout and cannot be cancelled, so it runs on a daemon
    thread that is abandoned when the resolver hangs. Raises socket.gaierror, or
    TimeoutError.
    """
    import ipaddress

    from wsdiag.concurrency import Pending

    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    lookup = Pending(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM, name="wsdiag-dns")
    try:
        infos = lookup.result(timeout)
    except TimeoutError:
        raise TimeoutError(f"the system resolver gave no answer within {timeout:g} s") from None
    return str(infos[0][4][0])


def connect_tcp(address: str, port: int, timeout: float) -> socket.socket:
    """Open a TCP connection to one IP address (no name resolution here)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def connect_to(
    host: str, address: str, port: int, timeout: float, proxy: Proxy | None = None
) -> socket.socket:
    """TCP to ``host``:``port``: straight to its ``address``, or through ``proxy``'s tunnel.

    Through a proxy the address is not used: the proxy resolves ``host`` itself.
    """
    if proxy is None:
        return connect_tcp(address, port, timeout)
    from wsdiag.proxy import open_tunnel

    return open_tunnel(proxy, host, port, timeout)


def tls_context(
    ca_bundle: str | None = None, verify: bool = True, alpn: tuple[str, ...] = ("http/1.1",)
) -> ssl.SSLContext:
    """A client context verifying against certifi (or ``ca_bundle``) unless ``verify`` is off.

    certifi rather than the system store: that is what Python clients such as
    pusher-http-python ship with, and a stale system store is a user problem
    we want to *detect*, not inherit (see PUSHER-PROTOCOL.md, pusher-http-php#299).
    """
    if verify:
        if ca_bundle is None:
            import certifi

            ca_bundle = certifi.where()
        context = ssl.create_default_context(cafile=ca_bundle)
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def wrap_tls(
    sock: socket.socket, server_hostname: str, context: ssl.SSLContext, timeout: float
) -> ssl.SSLSocket:
    """Run the TLS handshake on a connected socket, sending SNI for ``server_hostname``."""
    sock.settimeout(timeout)
    # An IP literal must not be sent as SNI (RFC 6066 §3); ssl skips it for us.
    return context.wrap_socket(sock, server_hostname=server_hostname, do_handshake_on_connect=True)
