"""Real firewalls for the tests: network namespaces, veth pairs and iptables rules.

``firewalled_host`` makes a namespace that plays a server behind a firewall:
the test process stays in the root namespace and connects to the namespace's
addresses across a veth pair, so every probe meets a real kernel firewall:

- ``drop``        iptables ``-j DROP``                          → connect times out (filtered)
- ``unreachable`` REJECT icmp-host-unreachable / icmp6-addr-unreachable → EHOSTUNREACH
- ``prohibited``  REJECT icmp-admin-prohibited / icmp6-adm-prohibited  → EHOSTUNREACH / EACCES
- ``no-route``    REJECT icmp-net-unreachable / icmp6-no-route  → ENETUNREACH (from the path)
- ``reset``       REJECT tcp-reset                              → ECONNREFUSED
- a port with no rule and no listener                           → ECONNREFUSED

``client_namespace`` is the other way round: a namespace to run the code
under test *in* (``ns.run(fn, ...)``), with IPv4 to the root namespace and
IPv6 missing in one of the ways real machines lack it.

Timing on a veth pair: the SYN, the firewall and the ICMP answer all run in the
sending thread's softirq while connect() still holds the socket lock. Linux then
keeps an ICMPv6 error only as a soft error (TcpExtLockDroppedIcmps), and the
error surfaces when the SYN is retransmitted after 1 s; IPv4 is usually at once.
Across a real network the ICMP arrives later and counts at once. Tests of ICMP
rejects therefore use a timeout above 1 s and assert "well before the timeout".

Needs root, ``ip`` and ``iptables``/``ip6tables`` (scripts/testbed/install);
skips with the reason otherwise. Everything is torn down even when a test fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import itertools
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import pytest

Rule = Literal["drop", "unreachable", "prohibited", "no-route", "reset"]
Ipv6Mode = Literal["none", "link-local", "disabled"]
Family = Literal["both", "ipv4", "ipv6"]
T = TypeVar("T")

RULES: dict[str, tuple[list[str], list[str]]] = {  # rule → (iptables, ip6tables) target
    "drop": (["-j", "DROP"], ["-j", "DROP"]),
    "unreachable": (
        ["-j", "REJECT", "--reject-with", "icmp-host-unreachable"],
        ["-j", "REJECT", "--reject-with", "icmp6-addr-unreachable"],
    ),
    "prohibited": (
        ["-j", "REJECT", "--reject-with", "icmp-admin-prohibited"],
        ["-j", "REJECT", "--reject-with", "icmp6-adm-prohibited"],
    ),
    "no-route": (
        ["-j", "REJECT", "--reject-with", "icmp-net-unreachable"],
        ["-j", "REJECT", "--reject-with", "icmp6-no-route"],
    ),
    "reset": (
        ["-j", "REJECT", "--reject-with", "tcp-reset"],
        ["-j", "REJECT", "--reject-with", "tcp-reset"],
    ),
}
# Accepts and closes on every given port, IPv4 and IPv6: an open port.
LISTENER = """
import select, socket, sys
socks = []
for port in map(int, sys.argv[1:]):
    for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((host, port)); s.listen(64); socks.append(s)
print("ready", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        conn, _ = s.accept(); conn.close()
"""
CLONE_NEWNET = 0x40000000
_counter = itertools.count()


@dataclass(frozen=True)
class Link:
    """One namespace and the veth pair joining it to the root namespace."""

    namespace: str
    host_if: str
    ns_if: str
    host_ipv4: str  # root-namespace end
    ipv4: str  # namespace end
    host_ipv6: str
    ipv6: str


@dataclass(frozen=True)
class FirewalledHost:
    """A server behind a firewall: connect to ``ipv4`` / ``ipv6`` from the test process."""

    name: str
    ipv4: str
    ipv6: str
    link: str  # the root-namespace end of the veth pair

    def block(self, port: int, rule: Rule = "drop", family: Family = "both") -> None:
        """The firewall in front of this host meets what comes in for ``port`` with ``rule``."""
        _block(self.name, "INPUT", port, rule, family)


@dataclass(frozen=True)
class ClientNamespace:
    """A machine without (working) IPv6; ``run`` calls code from inside it."""

    name: str
    server_ipv4: str  # root-namespace addresses, reachable (IPv4) or not (IPv6) from inside
    server_ipv6: str

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        return run_in_namespace(self.name, fn, *args)

    def block_outbound(self, port: int) -> None:
        """This machine's own firewall drops what it sends to ``port`` (iptables OUTPUT)."""
        _block(self.name, "OUTPUT", port, "drop", "ipv4")


def require_netns() -> None:
    if os.geteuid() != 0:
        pytest.skip("firewall tests need root (network namespaces and iptables)")
    missing = [tool for tool in ("ip", "iptables", "ip6tables") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"firewall tests need {', '.join(missing)} (scripts/testbed/install)")


def _run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _in_ns(namespace: str, *args: str) -> str:
    return _run("ip", "netns", "exec", namespace, *args)


def _block(namespace: str, chain: str, port: int, rule: Rule, family: Family) -> None:
    """``rule`` for TCP to ``port`` in ``chain`` (INPUT or OUTPUT), per address family."""
    v4, v6 = RULES[rule]
    match = ["-A", chain, "-p", "tcp", "--dport", str(port)]
    if family in ("both", "ipv4"):
        _in_ns(namespace, "iptables", *match, *v4)
    if family in ("both", "ipv6"):
        _in_ns(namespace, "ip6tables", *match, *v6)


def _networks_in_use() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Every prefix the root namespace has an address or a route in (defaults excluded)."""
    used: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for entry in json.loads(_run("ip", "-j", "addr", "show")):
        for info in entry.get("addr_info", []):
            used.append(ipaddress.ip_network(f"{info['local']}/{info['prefixlen']}", strict=False))
    for family in ("-4", "-6"):
        for route in json.loads(_run("ip", "-j", family, "route", "show")):
            if route.get("dst") not in (None, "default"):
                used.append(ipaddress.ip_network(route["dst"], strict=False))
    return used


def _free_prefixes() -> tuple[ipaddress.IPv4Network, ipaddress.IPv6Network]:
    """A random private /30 and ULA /64 that overlap nothing on this machine."""
    used = _networks_in_use()
    for _ in range(100):
        v4 = ipaddress.IPv4Network(
            f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randrange(0, 256, 4)}/30"
        )
        words = ":".join(f"{random.randint(1, 0xFFFF):x}" for _ in range(3))
        v6 = ipaddress.IPv6Network(f"fd00:{words}::/64")
        clash4 = any(v4.overlaps(n) for n in used if isinstance(n, ipaddress.IPv4Network))
        clash6 = any(v6.overlaps(n) for n in used if isinstance(n, ipaddress.IPv6Network))
        if not clash4 and not clash6:
            return v4, v6
    raise RuntimeError("no free 10.x.y.z/30 found for the test namespace")


@contextlib.contextmanager
def _link(*, ipv6: bool = True) -> Iterator[Link]:
    """A namespace ``wsdiag-<pid>-<n>`` and a veth pair, removed on the way out."""
    require_netns()
    number = next(_counter)
    pid = os.getpid()
    v4, v6 = _free_prefixes()
    hosts4 = list(v4.hosts())
    link = Link(
        namespace=f"wsdiag-{pid}-{number}",
        host_if=f"wd{pid % 10**7}h{number}"[:15],
        ns_if=f"wd{pid % 10**7}n{number}"[:15],
        host_ipv4=str(hosts4[0]),
        ipv4=str(hosts4[1]),
        host_ipv6=str(v6[1]),
        ipv6=str(v6[2]),
    )
    try:
        _build(link, v4.prefixlen, ipv6=ipv6)
        yield link
    finally:
        subprocess.run(
            ["ip", "netns", "del", link.namespace], capture_output=True, timeout=20, check=False
        )
        # Usually gone with its peer already; the namespace may not have been made.
        subprocess.run(
            ["ip", "link", "del", link.host_if], capture_output=True, timeout=20, check=False
        )


def _build(link: Link, v4_len: int, *, ipv6: bool) -> None:
    ns = link.namespace
    _run("ip", "netns", "add", ns)
    _run("ip", "link", "add", link.host_if, "type", "veth", "peer", "name", link.ns_if)
    _run("ip", "link", "set", link.ns_if, "netns", ns)
    _run("ip", "addr", "add", f"{link.host_ipv4}/{v4_len}", "dev", link.host_if)
    _run("ip", "-6", "addr", "add", f"{link.host_ipv6}/64", "dev", link.host_if, "nodad")
    _run("ip", "link", "set", link.host_if, "up")
    _in_ns(ns, "ip", "addr", "add", f"{link.ipv4}/{v4_len}", "dev", link.ns_if)
    if ipv6:
        _in_ns(ns, "ip", "-6", "addr", "add", f"{link.ipv6}/64", "dev", link.ns_if, "nodad")
    # One ICMP error per probe: the default rate limits would turn the second
    # reject in a test into a silent drop.
    _in_ns(ns, "sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0", "net.ipv6.icmp.ratelimit=0")
    _in_ns(ns, "ip", "link", "set", link.ns_if, "up")
    _in_ns(ns, "ip", "link", "set", "lo", "up")


@contextlib.contextmanager
def firewalled_host(
    open_ports: Sequence[int] = (), rules: Mapping[int, Rule] | None = None
) -> Iterator[FirewalledHost]:
    """A namespace listening on ``open_ports``, behind ``{port: rule}`` in its INPUT chains."""
    with _link() as link:
        host = FirewalledHost(link.namespace, link.ipv4, link.ipv6, link.host_if)
        for port, rule in (rules or {}).items():
            host.block(port, rule)
        with _listener(link.namespace, open_ports):
            _check_open(host, [p for p in open_ports if p not in (rules or {})])
            yield host


@contextlib.contextmanager
def _listener(namespace: str, ports: Sequence[int]) -> Iterator[None]:
    if not ports:
        yield
        return
    # `ip netns exec` execs the command, so this PID is the listener's own.
    process = subprocess.Popen(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", LISTENER, *map(str, ports)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        if process.stdout.readline().strip() != "ready":
            process.kill()
            raise RuntimeError(f"namespace listener failed: {process.communicate()[1]}")
        yield
    finally:
        process.kill()
        process.wait(timeout=5)


def _check_open(host: FirewalledHost, ports: Sequence[int]) -> None:
    """Fail the fixture, not the test, when the bed itself does not work."""
    for address in (host.ipv4, host.ipv6):
        for port in ports[:1]:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            with socket.socket(family) as sock:
                sock.settimeout(3)
                sock.connect((address, port))


@contextlib.contextmanager
def client_namespace(ipv6: Ipv6Mode) -> Iterator[ClientNamespace]:
    """A client machine with IPv4 to the root namespace and IPv6 missing.

    ``none``: no IPv6 address or route beyond link-local (connect: ENETUNREACH);
    ``link-local``: a default route via a router that never answers and only a
    link-local address (connect: times out); ``disabled``: disable_ipv6=1
    (connect: EADDRNOTAVAIL).
    """
    with _link(ipv6=False) as link:
        ns = link.namespace
        if ipv6 == "link-local":
            _in_ns(ns, "sysctl", "-q", "-w", f"net.ipv6.conf.{link.ns_if}.accept_dad=0")
            _in_ns(ns, "ip", "-6", "route", "add", "default", "via", "fe80::1", "dev", link.ns_if)
        elif ipv6 == "disabled":
            _in_ns(ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1")
        yield ClientNamespace(ns, link.host_ipv4, link.host_ipv6)


def run_in_namespace(namespace: str, fn: Callable[..., T], *args: Any) -> T:
    """Call ``fn`` in a thread that joined ``namespace``'s network stack.

    setns() moves only the calling thread, and threads it starts (such as a
    ThreadPoolExecutor's workers) inherit its namespace, so the test process
    itself never leaves the root namespace.
    """
    outcome: dict[str, Any] = {}

    def enter_and_call() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns failed")
                here, there = os.stat("/proc/thread-self/ns/net"), os.fstat(fd)
                assert (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
            finally:
                os.close(fd)
            outcome["value"] = fn(*args)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=enter_and_call, name=f"in-{namespace}")
    thread.start()
    thread.join(timeout=60)
    if "error" in outcome:
        raise outcome["error"]
    if "value" not in outcome:
        raise TimeoutError(f"code in namespace {namespace} did not finish")
    return outcome["value"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class ClientHost:
    """A client machine with IPv4 and IPv6 to the root namespace, where its servers listen.

    Run a command on it with ``command`` (``ip netns exec``, which also puts the
    namespace's own ``/etc/netns/NAME/hosts`` over /etc/hosts, so the system
    resolver sees the names given to ``client_host``). ``block`` adds a rule to
    its own firewall, as an office or CI network's egress filter would.
    """

    name: str
    server_ipv4: str  # the root-namespace end of the link: bind servers here
    server_ipv6: str

    @property
    def command(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def block(self, port: int, rule: Rule = "drop", family: Family = "both") -> None:
        _block(self.name, "OUTPUT", port, rule, family)


@contextlib.contextmanager
def client_host(
    hosts: Callable[[ClientHost], Mapping[str, Sequence[str]]] | None = None,
) -> Iterator[ClientHost]:
    """A client namespace; ``hosts(client)`` maps names to addresses for its hosts file
    (a function, because the server addresses are only known once the link exists)."""
    with _link() as link:
        client = ClientHost(link.namespace, link.host_ipv4, link.host_ipv6)
        etc = f"/etc/netns/{link.namespace}"
        os.makedirs(etc, exist_ok=True)
        lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
        for name, addresses in (hosts(client) if hosts else {}).items():
            lines += [f"{address} {name}" for address in addresses]
        with open(f"{etc}/hosts", "w", encoding="utf-8") as hosts_file:
            hosts_file.write("\n".join(lines) + "\n")
        try:
            yield client
        finally:
            shutil.rmtree(etc, ignore_errors=True)
