"""Proxies: which one applies, and a tunnel through it (HTTP CONNECT, or SOCKS in wsdiag.socks).

Browsers, pusher-js in a browser and most corporate networks reach Pusher
through a forward proxy; wscat, websocat and pusher-js in Node do not support
one at all. wsdiag opens every connection (WebSocket, TLS probe, HTTP API)
through a ``CONNECT host:port`` tunnel when a proxy applies, so what it
measures is the path the user's clients take. The proxy, not this machine,
resolves the target names then.

Stdlib only: imported by the CLI on every start.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import field
from urllib.parse import unquote, urlsplit

from wsdiag.models import ErrorKind
from wsdiag.records import record
from wsdiag.target import masked_url

REPLY_LIMIT = 16384  # a CONNECT reply head is small; a proxy's error page is cut here


class ProxySettingError(ValueError):
    """A proxy URL that cannot be used (a usage error)."""


@record
class Proxy:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a repr or a traceback
    source: str = "--proxy"  # where it came from: --proxy, HTTPS_PROXY, …
    scheme: str = "http"  # http, or a SOCKS version: socks5, socks5h, socks4, socks4a

    @property
    def label(self) -> str:
        """The proxy as it may be shown: the password never appears."""
        user = f"{self.username}:***@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{user}{host}:{self.port}"

    @property
    def resolves_here(self) -> bool:
        """socks5:// and socks4://: this machine resolves the target and hands over an address."""
        return self.scheme in ("socks5", "socks4")

    @property
    def kind(self) -> str:
        """How it is named in prose: "HTTP proxy", "SOCKS5 proxy"."""
        return "HTTP proxy" if self.scheme == "http" else f"{self.scheme[:6].upper()} proxy"


class ProxyError(OSError):
    """The proxy answered the CONNECT with something other than 2xx, or not at all."""

    def __init__(self, kind: ErrorKind, summary: str, cause: str, fix: str) -> None:
        super().__init__(summary)
        self.kind, self.summary, self.cause, self.fix = kind, summary, cause, fix


def parse_proxy(url: str, source: str = "--proxy") -> Proxy:
    shown = masked_url(url)
    text = url.strip()
    if "://" not in text:
        text = "http://" + text  # curl and requests read "host:3128" the same way
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ProxySettingError(f"{source}={shown!r} is not a proxy URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", *_SOCKS_SCHEMES):
        raise ProxySettingError(
            f"{source}={shown!r}: the proxy must be http:// (HTTP CONNECT), socks5://, "
            "socks5h://, socks4:// or socks4a://; https:// proxies are not supported"
        )
    if not parts.hostname or any(c.isspace() or ord(c) < 32 for c in parts.hostname):
        raise ProxySettingError(f"{source}={shown!r} has no usable host")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    default_port = 80 if scheme == "http" else 1080
    return Proxy(parts.hostname, port or default_port, user, password, source, scheme)


# Spelled here, not in wsdiag.socks, so that parsing a URL does not import the SOCKS client.
_SOCKS_SCHEMES = ("socks5", "socks5h", "socks4", "socks4a")


# curl's order and spelling: the lower-case http_proxy only (HTTP_PROXY can be
# set by a web server's CGI environment), upper or lower case for the others.
_ENVIRONMENT = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy")


def proxy_from_environment(env: Mapping[str, str] | None = None) -> Proxy | None:
    env = os.environ if env is None else env
    for name in _ENVIRONMENT:
        value = env.get(name, "").strip()
        if value:
            return parse_proxy(value, name)
    return None


def bypassed(host: str, env: Mapping[str, str] | None = None) -> bool:
    """NO_PROXY / no_proxy lists ``host``: ``*``, a name and its subdomains, or an IP/CIDR."""
    env = os.environ if env is None else env
    entries = (env.get("no_proxy") or env.get("NO_PROXY") or "").split(",")
    name = host.strip("[]").lower().rstrip(".")
    for entry in (e.strip().lower() for e in entries):
        if not entry:
            continue
        if entry == "*":
            return True
        try:
            if ipaddress.ip_address(name) in ipaddress.ip_network(entry, strict=False):
                return True
            continue
        except ValueError:
            pass  # not both IPs: compare as names
        suffix = entry.lstrip(".")
        if suffix.count(":") == 1:  # "example.com:8080": wsdiag matches names, not ports
            suffix = suffix.split(":", 1)[0]
        if name == suffix or name.endswith("." + suffix):
            return True
    return False


def connect_proxy(proxy: Proxy, timeout: float) -> socket.socket:
    """TCP to the proxy itself; its failures are ProxyErrors that name the proxy, not the target."""
    from wsdiag.dialer import DialError, happy_eyeballs, system_addresses

    try:
        addresses = system_addresses(proxy.host, proxy.port, timeout)
    except DialError as err:
        if isinstance(err.error, TimeoutError):
            raise ProxyError(
                ErrorKind.DNS_TIMEOUT,
                "proxy name does not resolve in time",
                f"the proxy {proxy.label} (from {proxy.source}): the system resolver gave no "
                f"answer for {proxy.host} within {timeout:g} s",
                f"check this machine's DNS, or give {proxy.source} as an IP address",
            ) from None
        raise unreachable(proxy, _os_error(err.error), timeout) from None
    try:
        return happy_eyeballs(addresses, proxy.port, timeout).sock
    except DialError as err:
        raise unreachable(proxy, _os_error(err.error), timeout) from None


def _os_error(exc: BaseException) -> OSError:
    return exc if isinstance(exc, OSError) else OSError(str(exc))


def request_tunnel(
    sock: socket.socket,
    proxy: Proxy,
    host: str,
    port: int,
    timeout: float,
    addresses: Sequence[str] | None = None,
) -> None:
    """Ask the proxy on ``sock`` for a tunnel to ``host:port``; ProxyError if it is refused.

    HTTP: send CONNECT and read the reply (2xx opens the tunnel); SOCKS: its handshake.
    ``addresses``: what this machine resolved ``host`` to, for a proxy that wants an
    address (``resolves_here``); None: resolve it now.
    """
    if proxy.scheme != "http":
        from wsdiag.socks import handshake

        handshake(sock, proxy, host, port, timeout, addresses)
        return
    sock.settimeout(timeout)
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    request = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
    if proxy.username is not None:
        token = base64.b64encode(f"{proxy.username}:{proxy.password or ''}".encode()).decode()
        request += f"Proxy-Authorization: Basic {token}\r\n"
    try:
        sock.sendall((request + "\r\n").encode())
    except OSError as exc:
        raise unreachable(proxy, exc, timeout) from None
    status, reason, headers = _read_reply(sock, proxy, timeout)
    sock.settimeout(timeout)  # the tunnel's users get the full timeout per step again
    if not 200 <= status < 300:
        raise _refusal(proxy, authority, status, reason, headers)


def unreachable(proxy: Proxy, exc: OSError, timeout: float) -> ProxyError:
    where = f"the proxy {proxy.label} (from {proxy.source})"
    fix = f"check that the proxy runs and that {proxy.source} is right, or bypass it (NO_PROXY)"
    if isinstance(exc, ConnectionRefusedError):
        return ProxyError(
            ErrorKind.TCP_REFUSED,
            "proxy refused the connection",
            f"{where} refused the connection: nothing listens there",
            fix,
        )
    if isinstance(exc, TimeoutError):
        return ProxyError(
            ErrorKind.TCP_FILTERED,
            "no answer from the proxy",
            f"{where} did not answer within {timeout:g} s",
            fix,
        )
    if isinstance(exc, socket.gaierror):
        return ProxyError(
            ErrorKind.DNS_NXDOMAIN,
            "proxy name does not resolve",
            f"{where}: its name does not resolve ({exc.strerror})",
            fix,
        )
    return ProxyError(
        ErrorKind.TCP_UNREACHABLE,
        "cannot reach the proxy",
        f"{where} cannot be reached: {exc.strerror or exc}",
        fix,
    )


def _read_reply(
    sock: socket.socket, proxy: Proxy, timeout: float
) -> tuple[int, str, dict[str, str]]:
    head = b""
    # One deadline for the whole reply: a proxy dripping a byte at a time must not
    # stretch the wait to timeout x bytes.
    deadline = time.monotonic() + timeout
    # Byte by byte up to the blank line: anything after it belongs to the tunnel.
    while not head.endswith(b"\r\n\r\n"):
        try:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            byte = sock.recv(1)
        except ConnectionResetError:
            break  # judged below, as a reply that is not HTTP
        except TimeoutError:
            raise ProxyError(
                ErrorKind.PROXY_ERROR,
                f"no reply to CONNECT from the proxy within {timeout:g} s",
                f"the proxy {proxy.label} accepted the connection but did not answer CONNECT",
                "check the proxy address and port (is it an HTTP proxy?), or raise --timeout",
            ) from None
        if not byte or len(head) > REPLY_LIMIT:
            break
        head += byte
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if (
        len(status_line) < 2
        or not status_line[0].startswith("HTTP/")
        or not status_line[1].isdigit()
    ):
        if head[:1] == b"\x05":  # a SOCKS5 server's method reply: a SOCKS proxy given as http://
            raise ProxyError(
                ErrorKind.PROXY_ERROR,
                "the proxy is a SOCKS5 proxy, not an HTTP proxy",
                f"{proxy.label} (from {proxy.source}) answered CONNECT with {head[:60]!r}: "
                "a SOCKS5 reply",
                f"use socks5h:// instead of http:// in {proxy.source}",
            )
        raise ProxyError(
            ErrorKind.PROXY_ERROR,
            "the proxy's reply to CONNECT is not HTTP",
            f"{proxy.label} answered CONNECT with {head[:60]!r}: not an HTTP proxy",
            f"check the proxy address and port ({proxy.source})",
        )
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return int(status_line[1]), status_line[2] if len(status_line) > 2 else "", headers


def _refusal(
    proxy: Proxy, authority: str, status: int, reason: str, headers: dict[str, str]
) -> ProxyError:
    said = f"HTTP {status} {reason}".strip()
    via = f" ({headers['server']})" if "server" in headers else ""
    if status in (401, 407):  # 407 is the standard; tinyproxy answers bad credentials with 401
        has = (
            "the credentials in the proxy URL were refused"
            if proxy.username
            else "no credentials were given"
        )
        scheme = headers.get("proxy-authenticate", "scheme not named")
        return ProxyError(
            ErrorKind.PROXY_AUTH_REQUIRED,
            f"proxy wants authentication: {said}",
            f"{proxy.label}{via} requires authentication ({scheme}); {has}",
            "put the credentials in the proxy URL: http://user:password@proxy:port "
            "(Basic only; NTLM/Kerberos proxies need a local helper such as cntlm)",
        )
    if status in (403, 405):
        return ProxyError(
            ErrorKind.PROXY_DENIED,
            f"proxy refused CONNECT to {authority}: {said}",
            f"{proxy.label}{via} does not allow tunnels to {authority}: proxies often allow "
            "CONNECT to port 443 only, or filter by host name",
            f"ask for CONNECT to {authority} to be allowed on the proxy (for Pusher: the ws-, "
            "api- and sockjs- hosts of your cluster on 443); wss:// on 443 is the port "
            "proxies allow most",
        )
    if status >= 500:
        return ProxyError(
            ErrorKind.PROXY_UPSTREAM_ERROR,
            f"proxy could not reach {authority}: {said}",
            f"{proxy.label}{via} accepted the request but could not connect to {authority} "
            "(its DNS, or the server refused it, or the proxy's own firewall)",
            f"check that {authority} is right and up; the proxy's logs say which step failed",
        )
    return ProxyError(
        ErrorKind.PROXY_ERROR,
        f"proxy answered CONNECT with {said}",
        f"{proxy.label}{via} answered CONNECT to {authority} with {said}",
        "check the proxy settings (HTTPS_PROXY / --proxy) with your network team",
    )
