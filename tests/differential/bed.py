"""The network conditions the differential test puts pusher-js and wsdiag in, side by side.

- ``names``: a name resolves to the same addresses for both. pusher-js resolves
  through Node's ``dns.lookup`` (getaddrinfo: the hosts file, then DNS); wsdiag
  asks dnspython and compares with getaddrinfo. Both run inside a private mount
  namespace (``unshare --mount``) where a hosts file with the condition's names
  is bind-mounted over /etc/hosts and nsswitch.conf says ``hosts: files`` (as
  ``ip netns exec`` bind-mounts /etc/netns/NAME/*), and wsdiag also gets
  ``--resolver`` pointing at the test DNS server that serves the same names. A
  name not listed does not exist for either (getaddrinfo: EAI_NONAME, DNS:
  NXDOMAIN), and nothing reaches the machine's real resolver.
- ``front``: a TCP relay, optionally terminating TLS, in front of soketi. Its
  listening sockets can be made inside a network namespace (a firewalled host
  from tests/servers/netns.py) while it connects to soketi on the root
  namespace's loopback, so iptables rules in the namespace filter real Pusher
  traffic per address family and port.
- ``firewall``: an iptables/ip6tables INPUT rule in such a namespace, per family.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.harness import Outcome, user_environment
from tests.servers.dns import Zone, dns_server
from tests.servers.netns import RULES, Rule, run_in_namespace

# Variables that change which CAs wsdiag or Node trust, or how Python starts: a
# condition's trust is given explicitly (--ca-bundle, NODE_EXTRA_CA_CERTS) or not at all.
UNSET = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_")
BIND_MOUNTS = 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf'


@dataclass(frozen=True)
class Row:
    """One condition's two outcomes, for the table printed at the end of the run."""

    condition: str
    pusher_js: str
    exit_code: int
    headline: str

    @property
    def agree(self) -> bool:
        return (self.pusher_js == "connected") == (self.exit_code == 0)


ROWS: list[Row] = []


@dataclass(frozen=True)
class Names:
    prefix: tuple[str, ...]  # runs a command with the private hosts file
    resolver: str  # IP:PORT of the DNS server answering the same names


@functools.cache
def _unshare() -> tuple[str, ...] | str:
    """The unshare command that works here, or why none does."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    command: tuple[str, ...] = ("unshare", "--mount", "--propagation", "private")
    if os.geteuid() != 0:  # an unprivileged user namespace can bind-mount too, where allowed
        command = ("unshare", "--map-root-user", *command[1:])
    probe = [*command, "--", "sh", "-c", "mount --bind /etc/hosts /etc/hosts"]
    if subprocess.run(probe, capture_output=True, timeout=10, check=False).returncode == 0:
        return command
    return "no private mount namespace here (needs root or unprivileged user namespaces)"


def _nsswitch_files_only() -> str:
    """This machine's nsswitch.conf with ``hosts: files``: no lookup leaves the hosts file."""
    try:
        lines = Path("/etc/nsswitch.conf").read_text().splitlines()
    except OSError:
        lines = []
    kept = [line for line in lines if not line.strip().startswith("hosts:")]
    return "\n".join([*kept, "hosts: files", ""])


@contextlib.contextmanager
def names(workdir: Path, mapping: Mapping[str, Sequence[str]]) -> Iterator[Names]:
    """``{name: [addresses]}`` for both clients; every other name does not exist."""
    command = _unshare()
    if isinstance(command, str):
        pytest.skip(f"conditions with host names need a private /etc/hosts: {command}")
    hosts = workdir / "hosts"
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    lines += [f"{address} {name}" for name, addresses in mapping.items() for address in addresses]
    hosts.write_text("\n".join(lines) + "\n")
    nsswitch = workdir / "nsswitch.conf"
    nsswitch.write_text(_nsswitch_files_only())
    zone: Zone = {
        name: {
            "A": [(a, 60) for a in addresses if ":" not in a],
            "AAAA": [(a, 60) for a in addresses if ":" in a],
        }
        for name, addresses in mapping.items()
    }
    with dns_server(zone) as dns:
        prefix = (
            *command,
            "--",
            "sh",
            "-c",
            f'{BIND_MOUNTS} && shift 2 && exec "$@"',
            "sh",
            str(hosts),
            str(nsswitch),
        )
        yield Names(prefix, f"{dns.address[0]}:{dns.address[1]}")


def run_check(target: str, *args: str, home: Path, prefix: Sequence[str] = ()) -> Outcome:
    """``python -m wsdiag check TARGET ARGS --json`` as a user runs it, under ``prefix``."""
    env = {k: v for k, v in user_environment(home).items() if not k.startswith(UNSET)}
    argv = ("check", target, *args, "--json")
    started = time.monotonic()
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "wsdiag", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        check=False,
    )
    return Outcome(argv, done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def firewall(
    namespace: str, port: int, rule: Rule, families: Sequence[str] = ("ipv4", "ipv6")
) -> None:
    """``rule`` on TCP ``port`` in the namespace's INPUT chain, for the given families."""
    v4, v6 = RULES[rule]
    for family in families:
        tool, target = ("iptables", v4) if family == "ipv4" else ("ip6tables", v6)
        command = ["ip", "netns", "exec", namespace, tool, "-A", "INPUT", "-p", "tcp"]
        subprocess.run([*command, "--dport", str(port), *target], check=True, timeout=20)


def _listen(addresses: Sequence[str], port: int) -> list[socket.socket]:
    """One listening socket per address, all on ``port`` (0: the first one's port)."""
    for _ in range(20):  # port 0: the kernel's port may be taken on another address
        sockets: list[socket.socket] = []
        chosen = port
        try:
            for address in addresses:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((address, chosen))
                sock.listen(64)
                chosen = sock.getsockname()[1]
            return sockets
        except OSError:
            for sock in sockets:
                sock.close()
            if port:
                raise
    raise RuntimeError(f"no port free on all of {addresses}")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        writer.close()


@contextlib.contextmanager
def front(
    upstream_port: int,
    addresses: Sequence[str],
    port: int = 0,
    *,
    namespace: str | None = None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[int]:
    """Relay ``addresses:port`` (made in ``namespace``) to 127.0.0.1:``upstream_port``.

    With ``tls`` the relay terminates TLS with that context, as nginx in front
    of soketi does. Yields the port.
    """
    if namespace is None:
        sockets = _listen(addresses, port)
    else:
        sockets = run_in_namespace(namespace, _listen, addresses, port)
    bound = int(sockets[0].getsockname()[1])

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream = await asyncio.open_connection("127.0.0.1", upstream_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream[1]), _pipe(upstream[0], writer))

    async def start() -> list[asyncio.Server]:
        timeout = 10.0 if tls else None  # asyncio refuses a handshake timeout without TLS
        return [
            await asyncio.start_server(relay, sock=sock, ssl=tls, ssl_handshake_timeout=timeout)
            for sock in sockets
        ]

    async def stop(servers: list[asyncio.Server]) -> None:
        for server in servers:
            server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    loop = asyncio.new_event_loop()
    # A client that rejects the certificate aborts the handshake: expected here, not news.
    loop.set_exception_handler(lambda _loop, _context: None)
    thread = threading.Thread(target=loop.run_forever, name=f"front-{bound}", daemon=True)
    thread.start()
    try:
        servers = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
        try:
            yield bound
        finally:
            asyncio.run_coroutine_threadsafe(stop(servers), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        for sock in sockets:
            sock.close()
