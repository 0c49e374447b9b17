"""SOCKS proxies: the SOCKS5 (RFC 1928, 1929) and SOCKS4/4a handshakes on a connected socket.

Our own client rather than a library: the dialer already opens (Happy
Eyeballs) and times the TCP connection to the proxy, and the proxy's reply
code *is* the diagnosis, so what we need is the handshake alone with every
reply named. Building messages and reading replies are pure functions; only
``handshake`` does I/O, under one deadline for the whole exchange.

``socks5h://`` and ``socks4a://`` send the name (the proxy resolves it, as
with HTTP CONNECT); ``socks5://`` and ``socks4://`` resolve it here, as curl does.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from wsdiag.models import ErrorKind
from wsdiag.proxy import ProxyError

if TYPE_CHECKING:
    from wsdiag.proxy import Proxy


# RFC 1928 §6: the REP field of a SOCKS5 reply.
SOCKS5_REPLIES = {
    1: "general SOCKS server failure",
    2: "connection not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}
# The SOCKS4 protocol document: CD of the reply (90 granted).
SOCKS4_REPLIES = {
    91: "request rejected or failed",
    92: "rejected: the proxy cannot reach identd on this machine",
    93: "rejected: identd reports a different user id",
}
_NO_AUTH, _USER_PASSWORD, _NO_METHOD = 0x00, 0x02, 0xFF


def handshake(
    sock: socket.socket,
    proxy: Proxy,
    host: str,
    port: int,
    timeout: float,
    addresses: Sequence[str] | None = None,
) -> None:
    """Ask the SOCKS proxy on ``sock`` for a connection to ``host:port``; ProxyError if refused.

    ``addresses``: what the resolve stage found for ``host`` (``--resolver`` included), used
    by socks5:// and socks4://, which hand the proxy an address; None: resolve here now.
    """
    if not proxy.resolves_here:  # socks5h://, socks4a://: the proxy resolves the name
        target = host
    elif addresses:
        target = _first_usable(proxy, host, list(addresses))
    else:
        target = _resolve_here(proxy, host, port, timeout)
    # The handshake's own deadline starts after the lookup: a slow resolver is not the proxy's.
    deadline = time.monotonic() + timeout
    io = _Exchange(sock, proxy, deadline, timeout)
    if proxy.scheme.startswith("socks4"):
        io.send(socks4_request(target, port, proxy.username or ""))
        check_socks4_reply(io.read(8), proxy, host, port)
    else:
        io.send(greeting(proxy))
        method = check_method(io.read(2), proxy)
        if method == _USER_PASSWORD:
            io.send(password_request(proxy))
            check_password_reply(io.read(2), proxy)
        io.send(socks5_request(target, port))
        head = io.read(5)
        check_socks5_reply(head, proxy, host, port)
        io.read(_bound_address_rest(head))  # BND.ADDR and BND.PORT: unused, but not tunnel data
    sock.settimeout(timeout)  # the tunnel's users get the full timeout per step again


class _Exchange:
    """Reads and writes on the proxy socket, each bounded by the handshake's one deadline."""

    def __init__(self, sock: socket.socket, proxy: Proxy, deadline: float, timeout: float) -> None:
        self.sock, self.proxy, self.deadline, self.timeout = sock, proxy, deadline, timeout

    def send(self, data: bytes) -> None:
        from wsdiag.proxy import unreachable

        try:
            self.sock.settimeout(max(self.deadline - time.monotonic(), 0.001))
            self.sock.sendall(data)
        except OSError as exc:
            raise unreachable(self.proxy, exc, self.timeout) from None

    def read(self, count: int) -> bytes:
        data = b""
        while len(data) < count:
            try:
                self.sock.settimeout(max(self.deadline - time.monotonic(), 0.001))
                chunk = self.sock.recv(count - len(data))
            except TimeoutError:
                raise ProxyError(
                    ErrorKind.PROXY_ERROR,
                    f"no SOCKS reply from the proxy within {self.timeout:g} s",
                    f"the proxy {self.proxy.label} (from {self.proxy.source}) accepted the "
                    "connection but did not answer the SOCKS handshake",
                    "check the proxy address and port (is it a SOCKS proxy?), or raise --timeout",
                ) from None
            except OSError:
                chunk = b""
            if not chunk:
                raise _not_socks(self.proxy, data, closed=True)
            data += chunk
        return data


def _resolve_here(proxy: Proxy, host: str, port: int, timeout: float) -> str:
    """``socks5://``/``socks4://``: this machine resolves ``host`` (socks4: IPv4 only)."""
    from wsdiag.dialer import DialError, system_addresses

    try:
        addresses = system_addresses(host, port, timeout)
    except DialError as err:
        timed_out = isinstance(err.error, TimeoutError)
        kind = ErrorKind.DNS_TIMEOUT if timed_out else ErrorKind.DNS_NXDOMAIN
        raise ProxyError(
            kind,
            f"{host} does not resolve here",
            f"{proxy.label} (from {proxy.source}) is {proxy.scheme}://, so this machine resolves "
            f"the target, and {host} does not resolve: {err.error}",
            f"use {proxy.scheme.rstrip('h')}h:// to let the proxy resolve names"
            if proxy.scheme == "socks5"
            else "use socks4a:// or socks5h:// to let the proxy resolve names",
        ) from None
    return _first_usable(proxy, host, addresses)


def _first_usable(proxy: Proxy, host: str, addresses: list[str]) -> str:
    """The address to hand the proxy: the first, or for SOCKS4 the first IPv4 one."""
    if proxy.scheme == "socks4":
        addresses = [a for a in addresses if ":" not in a]
        if not addresses:
            raise ProxyError(
                ErrorKind.PROXY_ERROR,
                f"{host} has no IPv4 address for SOCKS4",
                f"SOCKS4 carries IPv4 addresses only, and {host} resolves to IPv6 only",
                "use socks5:// or socks5h://",
            )
    return addresses[0]


def greeting(proxy: Proxy) -> bytes:
    """SOCKS5 version/method selection: no authentication, and user/password when we have one."""
    methods = [_NO_AUTH] + ([_USER_PASSWORD] if proxy.username is not None else [])
    return bytes([5, len(methods), *methods])


def password_request(proxy: Proxy) -> bytes:
    """RFC 1929 username/password request (each at most 255 bytes)."""
    user = (proxy.username or "").encode()[:255]
    password = (proxy.password or "").encode()[:255]
    return bytes([1, len(user)]) + user + bytes([len(password)]) + password


def socks5_request(target: str, port: int) -> bytes:
    """CONNECT to an IPv4 or IPv6 address, or to a name the proxy resolves."""
    try:
        address = ipaddress.ip_address(target)
    except ValueError:
        name = target.encode("idna")[:255]
        return bytes([5, 1, 0, 3, len(name)]) + name + struct.pack("!H", port)
    kind = 1 if address.version == 4 else 4
    return bytes([5, 1, 0, kind]) + address.packed + struct.pack("!H", port)


def socks4_request(target: str, port: int, user_id: str) -> bytes:
    """SOCKS4 CONNECT; SOCKS4a (a name) sends 0.0.0.1 and the name after the user id."""
    try:
        packed, name = ipaddress.IPv4Address(target).packed, b""
    except ValueError:
        packed, name = bytes([0, 0, 0, 1]), target.encode("idna") + b"\0"
    return bytes([4, 1]) + struct.pack("!H", port) + packed + user_id.encode() + b"\0" + name


def check_method(reply: bytes, proxy: Proxy) -> int:
    """The method the SOCKS5 proxy chose; ProxyError when it is not SOCKS5 or accepts none."""
    if reply[0] != 5:
        raise _not_socks(proxy, reply)
    method = reply[1]
    if method == _NO_METHOD:
        has = (
            "it accepted neither no authentication nor username/password"
            if proxy.username is not None
            else "it wants authentication and none was given"
        )
        raise ProxyError(
            ErrorKind.PROXY_AUTH_REQUIRED,
            "SOCKS proxy wants authentication",
            f"{proxy.label} (from {proxy.source}) refused every method offered: {has}",
            f"put the credentials in the proxy URL: {proxy.scheme}://user:password@proxy:port "
            "(username/password only; GSSAPI is not supported)",
        )
    if method not in (_NO_AUTH, _USER_PASSWORD) or (
        method == _USER_PASSWORD and proxy.username is None
    ):
        raise ProxyError(
            ErrorKind.PROXY_ERROR,
            f"SOCKS proxy chose method {method}, which was not offered",
            f"{proxy.label} (from {proxy.source}) chose authentication method {method}",
            "check the proxy URL and the proxy's configuration",
        )
    return method


def check_password_reply(reply: bytes, proxy: Proxy) -> None:
    """RFC 1929: status 0 is success; anything else means the credentials were refused."""
    if reply[1] != 0:
        raise ProxyError(
            ErrorKind.PROXY_AUTH_REQUIRED,
            "SOCKS proxy refused the credentials",
            f"{proxy.label} (from {proxy.source}) refused the username and password in the "
            f"proxy URL (status {reply[1]})",
            "check the user name and password in the proxy URL (percent-encode @ : / in them)",
        )


def check_socks5_reply(head: bytes, proxy: Proxy, host: str, port: int) -> None:
    if head[0] != 5:
        raise _not_socks(proxy, head)
    if head[1] != 0:
        raise _refused(proxy, host, port, f"SOCKS5 reply {head[1]}", head[1])


def check_socks4_reply(reply: bytes, proxy: Proxy, host: str, port: int) -> None:
    if reply[0] != 0:
        raise _not_socks(proxy, reply)
    if reply[1] != 90:
        said = SOCKS4_REPLIES.get(reply[1], "unknown reply")
        raise _refused(proxy, host, port, f"SOCKS4 reply {reply[1]} ({said})", None)


def _bound_address_rest(head: bytes) -> int:
    """Bytes left of a SOCKS5 reply after its first five (BND.ADDR then BND.PORT)."""
    kind = head[3]
    if kind == 1:
        return 4 - 1 + 2
    if kind == 4:
        return 16 - 1 + 2
    return head[4] + 2  # a name: its length byte was the fifth


def _refused(proxy: Proxy, host: str, port: int, said: str, code: int | None) -> ProxyError:
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    where = f"{proxy.label} (from {proxy.source})"
    meaning = SOCKS5_REPLIES.get(code or 0, "")
    said = f"{said} ({meaning})" if meaning else said
    if code == 2:
        return ProxyError(
            ErrorKind.PROXY_DENIED,
            f"SOCKS proxy does not allow {authority}: {said}",
            f"{where} refused to connect to {authority}: its rules do not allow it",
            f"ask for {authority} to be allowed on the proxy (for Pusher: the ws-, api- and "
            "sockjs- hosts of your cluster on 443)",
        )
    if code in (7, 8):
        fix = (
            "use socks5:// so that this machine resolves the name and sends an address"
            if code == 8 and proxy.scheme == "socks5h"
            else "check the proxy's configuration"
        )
        return ProxyError(
            ErrorKind.PROXY_ERROR,
            f"SOCKS proxy cannot do this request: {said}",
            f"{where} answered the CONNECT to {authority} with {said}",
            fix,
        )
    why = {
        3: "it has no route to that network",
        4: "that host is unreachable from it (or its name does not resolve there)",
        5: "the server refused the connection: nothing listens on that port",
        6: "the server did not answer it in time",
    }.get(code or 0, "its DNS, the server refused it, or the proxy's own firewall")
    if code is None:  # SOCKS4 has one "rejected or failed" for everything
        why = "SOCKS4 does not say which step: the proxy's rules, its DNS, or the server"
    return ProxyError(
        ErrorKind.PROXY_UPSTREAM_ERROR,
        f"SOCKS proxy could not reach {authority}: {said}",
        f"{where} accepted the request but could not connect to {authority}: {why}",
        f"check that {authority} is right and up, reachable from the proxy and allowed by it",
    )


def _not_socks(proxy: Proxy, reply: bytes, closed: bool = False) -> ProxyError:
    version = "SOCKS4" if proxy.scheme.startswith("socks4") else "SOCKS5"
    if len(reply) >= 2 and b"HTTP/".startswith(reply[:5]):  # "HT" is never a SOCKS version
        said, fix = "an HTTP reply: it is an HTTP proxy", "use http:// in the proxy URL"
    elif closed:
        said = f"closing the connection after {reply[:16]!r}" if reply else "closing the connection"
        fix = f"check the proxy address and port: is it a {version} proxy?"
    else:
        said, fix = f"{reply[:16]!r}", f"check the proxy address and port: is it a {version} proxy?"
    return ProxyError(
        ErrorKind.PROXY_ERROR,
        f"not a {version} proxy",
        f"{proxy.label} (from {proxy.source}) answered the {version} handshake with {said}",
        fix,
    )
