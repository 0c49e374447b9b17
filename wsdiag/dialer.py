"""The one way wsdiag opens a connection: dns → connect → proxy tunnel → TLS.

Every stage and command dials through here (reach, tls, websocket, the HTTP
API, tail), so a connection is made, timed and named the same way everywhere.
Phases are recorded on the caller's ``Stopwatch`` under fixed names: ``dns``,
``connect``, ``proxy`` and ``tunnel`` (through an HTTP or SOCKS proxy), ``tls``.

Connecting follows Happy Eyeballs (RFC 8305) as browsers and Node do: the
addresses are interleaved by family, an attempt starts every 250 ms or as
soon as the previous one fails, and the first connection wins. A broken IPv6
path therefore costs a client (and us) at most the attempt delay, not the
whole timeout — which is why a failure on one family is not the user's
problem when the other works. The diagnosing stages (reach, tls) still probe
each address on its own by passing a single address.

Failures raise ``DialError``: the phase that failed, the exception, the
address, and every attempt, so ``wsdiag.classify`` can name the cause.
"""

from __future__ import annotations

import errno
import ipaddress
import queue
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wsdiag.models import Stopwatch
from wsdiag.records import record

if TYPE_CHECKING:
    from wsdiag.proxy import Proxy

# RFC 8305 §5: "Connection Attempt Delay", recommended 250 ms.
ATTEMPT_DELAY_S = 0.25


@record
class Attempt:
    """One TCP connect attempt of a dial: the address and what happened (None: it won)."""

    address: str
    error: BaseException | None
    ms: float


class DialError(Exception):
    """The dial failed in ``phase`` (dns, connect, proxy, tunnel, tls) with ``error``."""

    def __init__(
        self,
        phase: str,
        error: BaseException,
        address: str | None = None,
        attempts: tuple[Attempt, ...] = (),
    ) -> None:
        super().__init__(f"{phase}: {error}")
        self.phase = phase
        self.error = error
        self.address = address
        self.attempts = attempts


@dataclass
class Connection:
    """A connected (and, when asked, TLS-wrapped) socket and how it was reached."""

    sock: socket.socket
    address: str | None  # the peer address; through a proxy, None (the proxy resolved it)
    attempts: tuple[Attempt, ...] = ()

    def close(self) -> None:
        self.sock.close()


def dial(
    host: str,
    port: int,
    *,
    timeout: float,
    watch: Stopwatch,
    addresses: Sequence[str] | None = None,
    proxy: Proxy | None = None,
    tls: ssl.SSLContext | None = None,
) -> Connection:
    """Connect to ``host``:``port`` and return the connection; DialError on failure.

    ``addresses``: the addresses to race (a diagnosing stage passes one);
    None asks the system resolver, as the user's own client would. Through
    ``proxy`` the proxy resolves ``host``, except for socks5:// and socks4://,
    which are handed the first of ``addresses`` (resolved here when None).
    ``tls``: wrap in TLS with this context, sending SNI for ``host``.
    """
    if proxy is not None:
        conn = _through_proxy(proxy, host, port, timeout, watch, addresses)
    else:
        if addresses is None:
            with watch.phase("dns"):
                addresses = system_addresses(host, port, timeout)
        with watch.phase("connect"):
            conn = happy_eyeballs(addresses, port, timeout)
    if tls is None:
        return conn
    try:
        with watch.phase("tls"):
            conn.sock = wrap_tls(conn.sock, host, tls, timeout)
    except BaseException as exc:
        conn.sock.close()
        if isinstance(exc, OSError | ssl.SSLError):
            raise DialError("tls", exc, conn.address, conn.attempts) from None
        raise
    return conn


def system_addresses(host: str, port: int, timeout: float) -> list[str]:
    """Every address the system resolver gives for ``host`` (its order), within ``timeout``.

    getaddrinfo takes no timeout and cannot be cancelled, so it runs on a daemon
    thread that is abandoned when the resolver hangs. DialError("dns", …) on failure.
    """
    from wsdiag.concurrency import Pending

    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    lookup = Pending(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM, name="wsdiag-dns")
    try:
        infos = lookup.result(timeout)
    except TimeoutError:
        message = f"the system resolver gave no answer for {host} within {timeout:g} s"
        raise DialError("dns", TimeoutError(message)) from None
    except OSError as exc:
        raise DialError("dns", exc) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def interleave(addresses: Sequence[str]) -> list[str]:
    """RFC 8305 §4: alternate families, starting with the family listed first."""
    if not addresses:
        return []
    first_v6 = ":" in addresses[0]
    same = [a for a in addresses if (":" in a) == first_v6]
    other = [a for a in addresses if (":" in a) != first_v6]
    ordered: list[str] = []
    for index in range(max(len(same), len(other))):
        ordered += [group[index] for group in (same, other) if index < len(group)]
    return ordered


def connect_tcp(address: str, port: int, timeout: float) -> socket.socket:
    """One TCP connection to one IP address, Nagle off (every write is a whole frame)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OverflowError as exc:  # a port past 65535 from a setting: an error, not a crash
        sock.close()
        raise OSError(errno.EINVAL, f"port {port} is out of range (1-65535)") from exc
    except BaseException:
        sock.close()
        raise
    return sock


def happy_eyeballs(addresses: Sequence[str], port: int, timeout: float) -> Connection:
    """Race connects to ``addresses`` (RFC 8305); the first to connect wins, the rest close."""
    ordered = interleave(addresses)
    if not ordered:
        raise DialError("connect", OSError("no address to connect to"))
    if len(ordered) == 1:  # nothing to race: no thread
        start = time.perf_counter()
        try:
            sock = connect_tcp(ordered[0], port, timeout)
        except OSError as exc:
            attempt = Attempt(ordered[0], exc, _ms_since(start))
            raise DialError("connect", exc, ordered[0], (attempt,)) from None
        return Connection(sock, ordered[0], (Attempt(ordered[0], None, _ms_since(start)),))
    return _Race(ordered, port, timeout).run()


class _Race:
    """The staggered attempts of one Happy Eyeballs dial, each on a daemon thread."""

    def __init__(self, ordered: list[str], port: int, timeout: float) -> None:
        self.ordered, self.port, self.timeout = ordered, port, timeout
        self.deadline = time.monotonic() + timeout
        self.outcomes: queue.SimpleQueue[tuple[str, socket.socket | None, Attempt]] = (
            queue.SimpleQueue()
        )
        self.lock = threading.Lock()
        self.decided = False  # a winner was taken (or the race abandoned): late sockets close

    def _attempt(self, address: str) -> None:
        start = time.perf_counter()
        try:
            remaining = max(self.deadline - time.monotonic(), 0.001)
            sock: socket.socket | None = connect_tcp(address, self.port, remaining)
            error: BaseException | None = None
        except OSError as exc:
            sock, error = None, exc
        with self.lock:  # decided and queued atomically: a late winner is never left open
            if sock is not None and self.decided:
                sock.close()
                return
            self.outcomes.put((address, sock, Attempt(address, error, _ms_since(start))))

    def run(self) -> Connection:
        attempts: list[Attempt] = []
        started = running = 0
        next_start = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                if started < len(self.ordered) and (running == 0 or now >= next_start):
                    address = self.ordered[started]
                    threading.Thread(
                        target=self._attempt, args=(address,), name="wsdiag-dial", daemon=True
                    ).start()
                    started, running = started + 1, running + 1
                    next_start = now + ATTEMPT_DELAY_S
                if running == 0 or now >= self.deadline:
                    break
                wake = self.deadline
                if started < len(self.ordered):
                    wake = min(wake, next_start)
                try:
                    address, sock, attempt = self.outcomes.get(timeout=max(wake - now, 0.001))
                except queue.Empty:
                    continue
                running -= 1
                attempts.append(attempt)
                if sock is not None:
                    with self.lock:
                        self.decided = True
                    return Connection(sock, address, tuple(attempts))
        finally:
            with self.lock:
                self.decided = True
            self._close_late_winners()
        raise self._failure(attempts)

    def _close_late_winners(self) -> None:
        while True:
            try:
                _, sock, _ = self.outcomes.get_nowait()
            except queue.Empty:
                return
            if sock is not None:
                sock.close()

    def _failure(self, attempts: list[Attempt]) -> DialError:
        tried = {a.address for a in attempts}
        for address in self.ordered:  # still waiting at the deadline: timed out
            if address not in tried:
                message = f"no answer within {self.timeout:g} s"
                attempts.append(Attempt(address, TimeoutError(message), self.timeout * 1000))
        worst = _most_telling(attempts)
        assert worst.error is not None
        return DialError("connect", worst.error, worst.address, tuple(attempts))


def _most_telling(attempts: Sequence[Attempt]) -> Attempt:
    """The failure that says most about the path: one that reached the network, in order.

    An address this machine cannot even send to (no IPv6 route) says nothing
    about the server; a refusal or a timeout on the other family does.
    """
    from wsdiag.classify import is_local_gap

    telling = [a for a in attempts if a.error is not None and not is_local_gap(a.error, a.address)]
    ordered = telling or [a for a in attempts if a.error is not None]
    return ordered[0]


def _through_proxy(
    proxy: Proxy,
    host: str,
    port: int,
    timeout: float,
    watch: Stopwatch,
    addresses: Sequence[str] | None = None,
) -> Connection:
    """TCP to the proxy (phase ``proxy``), then ``CONNECT host:port`` or the SOCKS
    handshake (phase ``tunnel``): one tunnel per dial, as for every proxy kind."""
    from wsdiag.proxy import connect_proxy, request_tunnel

    with watch.phase("proxy"):
        try:
            sock = connect_proxy(proxy, timeout)
        except OSError as exc:
            raise DialError("proxy", exc) from None
    try:
        with watch.phase("tunnel"):
            request_tunnel(sock, proxy, host, port, timeout, addresses)
    except OSError as exc:
        sock.close()
        raise DialError("tunnel", exc) from None
    return Connection(sock, None)


def wrap_tls(
    sock: socket.socket, server_hostname: str, context: ssl.SSLContext, timeout: float
) -> ssl.SSLSocket:
    """Run the TLS handshake on a connected socket, sending SNI for ``server_hostname``."""
    sock.settimeout(timeout)
    # An IP literal must not be sent as SNI (RFC 6066 §3); ssl skips it for us.
    return context.wrap_socket(sock, server_hostname=server_hostname, do_handshake_on_connect=True)


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)
