"""The ``resolve`` stage: A, AAAA and the CNAME chain of a host, with dnspython.

dnspython rather than getaddrinfo so the answer says *why* a name fails
(NXDOMAIN vs SERVFAIL vs a silent resolver) and which resolver said so.
A and AAAA are asked at the same time, each with a lifetime of
``options.timeout`` across all nameservers, so the stage is bounded by one
timeout (plus thread start-up), never by timeout × servers × retries; the
record's one ``dns`` phase is that wall time, not the sum of the two queries.

Queries go out on a *connected* UDP socket, as the system's stub resolver and
dig send them, so a resolver that cannot be reached says why at once (no route,
ICMP port unreachable) instead of looking like a silent one or a SERVFAIL.
"""

from __future__ import annotations

import errno
import functools
import ipaddress
import re
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dns.message
    import dns.nameserver
    import dns.resolver

from wsdiag.checks import CheckOptions
from wsdiag.classify import endpoint_label
from wsdiag.concurrency import Pending
from wsdiag.models import ErrorKind, Phase, Resolved, Stage, StageResult, Status
from wsdiag.records import record
from wsdiag.target import PUBLIC_CLUSTERS, is_ip_literal

RESOLV_CONF = "/etc/resolv.conf"
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_RESOLVER_TEXT = re.compile(
    r"^(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<host>[^:\[\]]+))(?::(?P<port>\d+))?$"
)


def parse_resolver(text: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT``, ``IPv6`` or ``[IPv6]:PORT`` → (ip, port)."""
    text = text.strip()
    if is_ip_literal(text):  # a bare IPv6 address has colons but no port
        return text, 53
    match = _RESOLVER_TEXT.match(text)
    if not match or not is_ip_literal(match["v6"] or match["host"] or ""):
        raise ValueError(f"{text!r} is not an IP address with an optional :PORT (e.g. 1.1.1.1:53)")
    port = int(match["port"] or 53)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range (1-65535)")
    return match["v6"] or match["host"], port


@dataclass
class _Query:
    rdtype: str
    rcode: str = "NOERROR"
    ms: float = 0.0
    addresses: list[tuple[str, int]] = field(default_factory=list)  # (address, ttl)
    cnames: list[str] = field(default_factory=list)
    error: ErrorKind | None = None
    message: str = ""
    # (resolver, error) for every resolver that could not be sent to or answered
    # with an ICMP error: no route, port unreachable, a local firewall.
    unreachable: list[tuple[str, OSError]] = field(default_factory=list)


@record
class _InUse:
    """The resolvers asked: ``chosen`` when the user named one with --resolver."""

    addresses: tuple[str, ...]
    labels: tuple[str, ...]
    chosen: bool


@functools.cache
def _connected_do53() -> type[dns.nameserver.Do53Nameserver]:
    import dns.inet
    import dns.nameserver
    import dns.query

    class ConnectedDo53(dns.nameserver.Do53Nameserver):
        """Do53 over a connected UDP socket, so the kernel reports ICMP errors (issue 9).

        dnspython sends from an unconnected socket: an ICMP port unreachable never
        reaches it, so a resolver address with nothing listening waits out the whole
        timeout and is reported as silent. Connected, recv() raises ECONNREFUSED at
        once; connect() raises ENETUNREACH when there is no route. TCP is connected
        already.
        """

        def __str__(self) -> str:  # how dnspython names the server in its errors
            return endpoint_label(self.address, self.port)

        def query(
            self,
            request: dns.message.QueryMessage,
            timeout: float,
            source: str | None,
            source_port: int,
            max_size: bool,
            one_rr_per_rrset: bool = False,
            ignore_trailing: bool = False,
        ) -> dns.message.Message:
            if max_size or source is not None or source_port:
                return super().query(
                    request,
                    timeout,
                    source,
                    source_port,
                    max_size,
                    one_rr_per_rrset,
                    ignore_trailing,
                )
            af = dns.inet.af_for_address(self.address)
            destination = dns.inet.low_level_address_tuple((self.address, self.port), af)
            begun = time.time()  # dnspython's expirations are on the wall clock
            expiration = begun + timeout
            with dns.query.make_socket(af, socket.SOCK_DGRAM) as sock:
                sock.connect(destination)  # non-blocking, but UDP connects at once
                # No destination: send(), as sendto() on a connected socket is EISCONN on BSDs.
                dns.query.send_udp(sock, request, None, expiration)
                response, received = dns.query.receive_udp(
                    sock,
                    destination,
                    expiration,
                    ignore_unexpected=True,
                    one_rr_per_rrset=one_rr_per_rrset,
                    keyring=request.keyring,
                    request_mac=request.mac,
                    ignore_trailing=ignore_trailing,
                    raise_on_truncation=True,
                    ignore_errors=True,
                    query=request,
                )
            response.time = received - begun
            message: dns.message.Message = response
            return message

    return ConnectedDo53


def _make_resolver(options: CheckOptions, resolv_conf: str) -> tuple[dns.resolver.Resolver, _InUse]:
    import dns.inet
    import dns.resolver  # ~30 ms: only when a name is really resolved (not for IP targets)

    if options.resolver:
        resolver = dns.resolver.Resolver(configure=False)
        servers = [options.resolver]
    else:
        resolver = dns.resolver.Resolver(filename=resolv_conf, configure=True)
        servers = [
            (str(ns), resolver.nameserver_ports.get(str(ns), resolver.port))
            for ns in resolver.nameservers
            if isinstance(ns, str) and dns.inet.is_address(ns)
        ]
    if not servers:  # resolv.conf names only what is not an address
        raise dns.resolver.NoResolverConfiguration
    connected = _connected_do53()
    resolver.nameservers = [connected(address, port) for address, port in servers]
    resolver.timeout = options.timeout
    resolver.lifetime = options.timeout
    in_use = _InUse(
        tuple(address for address, _ in servers),
        tuple(endpoint_label(address, port) for address, port in servers),
        chosen=bool(options.resolver),
    )
    return resolver, in_use


def _unreachable(errors: Sequence[Any]) -> list[tuple[str, OSError]]:
    """The per-server errors dnspython collected that are the network's, not DNS's.

    Entries are (server, tcp_attempt, port, error or rcode text, response). Only
    UDP counts: a TCP retry after a truncated UDP answer met a reachable server.
    """
    return [
        (str(server), error)
        for server, tcp, _port, error, _response in errors
        if isinstance(error, OSError) and not tcp
    ]


def _query(resolver: dns.resolver.Resolver, host: str, rdtype: str) -> _Query:
    import dns.exception
    import dns.rcode
    import dns.rdatatype
    import dns.resolver

    result = _Query(rdtype)
    started = time.perf_counter()
    try:
        answer = resolver.resolve(host, rdtype, search=False, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        result.rcode, result.error = "NXDOMAIN", ErrorKind.DNS_NXDOMAIN
    except dns.resolver.NoNameservers as exc:
        errors = exc.kwargs.get("errors") or []
        result.unreachable = _unreachable(errors)
        result.message = str(exc)
        if errors and len(result.unreachable) == len(errors):  # no resolver got the query
            result.rcode, result.error = "UNREACHABLE", ErrorKind.DNS_RESOLVER_UNREACHABLE
        else:
            result.rcode, result.error = "SERVFAIL", ErrorKind.DNS_SERVFAIL
    except dns.exception.Timeout as exc:
        # Another resolver of resolv.conf may have been unreachable meanwhile: keep that.
        result.unreachable = _unreachable(exc.kwargs.get("errors") or [])
        result.rcode, result.error = "TIMEOUT", ErrorKind.DNS_TIMEOUT
    except dns.exception.DNSException as exc:
        result.rcode, result.error, result.message = "ERROR", ErrorKind.DNS_SERVFAIL, str(exc)
    else:
        for rrset in answer.response.answer:
            if rrset.rdtype == dns.rdatatype.CNAME:
                result.cnames += [str(r.target).rstrip(".") for r in rrset]
            elif rrset.rdtype == dns.rdatatype.from_text(rdtype):
                result.addresses += [(r.address, rrset.ttl) for r in rrset]
        result.rcode = dns.rcode.to_text(answer.response.rcode())
    result.ms = round((time.perf_counter() - started) * 1000, 3)
    return result


def resolve_host(
    host: str, options: CheckOptions, expect_public: bool = False, *, resolv_conf: str = RESOLV_CONF
) -> StageResult:
    if is_ip_literal(host):
        family = "ipv6" if ":" in host else "ipv4"
        return StageResult(
            Stage.RESOLVE,
            host,
            Status.OK,
            "IP address, nothing to resolve",
            details={"addresses": [{"address": host, "family": family, "ttl": None}]},
            outcome=Resolved(host, (host,)),
        )
    import dns.resolver

    started = time.perf_counter()
    try:
        resolver, in_use = _make_resolver(options, resolv_conf)
    except dns.resolver.NoResolverConfiguration:
        return StageResult(
            Stage.RESOLVE,
            host,
            Status.FAIL,
            "no DNS resolver configured",
            ErrorKind.DNS_NO_RESOLVER,
            f"{resolv_conf} lists no nameserver (missing or empty): this machine cannot "
            "resolve names",
            "fix the network's DNS settings (DHCP, /etc/resolv.conf), or pass --resolver 1.1.1.1",
            {"resolv_conf": resolv_conf},
        )
    server = in_use.labels[0]
    pending = [Pending(_query, resolver, host, t, name="wsdiag-dns") for t in ("A", "AAAA")]
    # Clients resolve through the system (hosts file, nsswitch), not only DNS: ask it too,
    # unless the user picked a resolver.
    system = None if options.resolver else Pending(_system_lookup, host, name="wsdiag-dns")
    queries = [p.result() for p in pending]
    try:
        # Within the same timeout as the queries, not another one after them: a silent
        # resolver is silent to getaddrinfo too, and must cost one timeout (issue 9).
        left = max(0.0, started + options.timeout - time.perf_counter())
        system_answer = system.result(timeout=left) if system else None
    except TimeoutError:
        system_answer = None  # getaddrinfo cannot be cancelled; its thread is abandoned
    # The queries ran side by side: the stage took the wall time, not their sum (issue 9).
    wall = Phase("dns", round((time.perf_counter() - started) * 1000, 3))
    return _result(host, server, in_use, queries, options, expect_public, system_answer, wall)


def _system_lookup(host: str) -> list[str] | None:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _result(
    host: str,
    server: str,
    in_use: _InUse,
    queries: list[_Query],
    options: CheckOptions,
    expect_public: bool,
    system_answer: list[str] | None,
    wall: Phase,
) -> StageResult:
    addresses: list[dict[str, Any]] = [
        {"address": a, "family": "ipv4" if q.rdtype == "A" else "ipv6", "ttl": ttl}
        for q in queries
        for a, ttl in q.addresses
    ]
    overridden = bool(system_answer) and set(system_answer or ()) != {
        a["address"] for a in addresses
    }
    chain = list(dict.fromkeys(c for q in queries for c in q.cnames))
    details: dict[str, Any] = {
        "resolver": server,
        "cname_chain": chain,
        "addresses": addresses,
        "queries": [
            {"type": q.rdtype, "rcode": q.rcode, "ms": q.ms, "answers": len(q.addresses)}
            for q in queries
        ],
    }
    unreachable = _unreachable_of(queries)
    if unreachable:
        details["unreachable"] = [
            {"resolver": label, "errno": _errno_name(exc), "error": exc.strerror or str(exc)}
            for label, exc in unreachable.items()
        ]
    phases = (wall,)
    if overridden and system_answer:
        details["dns_addresses"] = [a["address"] for a in addresses]
        details["note"] = (
            "the system resolver (hosts file, nsswitch) answers differently from DNS; "
            "clients use the system's answer, so wsdiag does too"
        )
        addresses = [
            {"address": a, "family": "ipv6" if ":" in a else "ipv4", "ttl": None}
            for a in system_answer
        ]
        details["addresses"] = addresses
        server = "system resolver (hosts file / nsswitch)"
    if not addresses:
        return _failure(host, server, in_use, queries, options, details, phases)
    v4 = sum(a["family"] == "ipv4" for a in addresses)
    v6 = len(addresses) - v4
    summary = f"{v4} IPv4, {v6} IPv6 via {server}" + (f" (CNAME → {chain[-1]})" if chain else "")
    found = Resolved(host, tuple(dict.fromkeys(str(a["address"]) for a in addresses)))
    odd = [str(a["address"]) for a in addresses if _not_public(str(a["address"]))]
    if expect_public and odd:
        return StageResult(
            Stage.RESOLVE,
            host,
            Status.WARN,
            summary + f"; non-public answer {', '.join(odd)}",
            ErrorKind.DNS_PRIVATE_ANSWER,
            f"{host} is a public Pusher host but {server} answered with private/local "
            f"address(es) {', '.join(odd)}: a captive portal, split-horizon DNS, a hosts-file "
            "entry or DNS hijacking",
            f"{compare_hint(in_use.addresses)}; check VPN, /etc/hosts and the network's DNS",
            details,
            phases,
            outcome=found,
        )
    return StageResult(
        Stage.RESOLVE, host, Status.OK, summary, details=details, phases=phases, outcome=found
    )


# When A and AAAA fail differently, report the most telling reason.
_SEVERITY = [
    ErrorKind.DNS_RESOLVER_UNREACHABLE,
    ErrorKind.DNS_NXDOMAIN,
    ErrorKind.DNS_SERVFAIL,
    ErrorKind.DNS_TIMEOUT,
    ErrorKind.DNS_NO_ANSWER,
]


def _failure(
    host: str,
    server: str,
    in_use: _InUse,
    queries: list[_Query],
    options: CheckOptions,
    details: dict[str, Any],
    phases: tuple[Phase, ...],
) -> StageResult:
    kinds = [q.error or ErrorKind.DNS_NO_ANSWER for q in queries]
    kind = min(kinds, key=_SEVERITY.index)
    cluster = re.match(r"^(?:ws|api|sockjs)-([a-z0-9-]+)\.pusher\.com$", host)
    compare = compare_hint(in_use.addresses)
    texts = {
        ErrorKind.DNS_NXDOMAIN: _nxdomain_text(
            host, server, cluster[1] if cluster else None, compare
        ),
        ErrorKind.DNS_SERVFAIL: (
            "resolver failed (SERVFAIL)",
            f"{server} could not resolve {host} (SERVFAIL): the resolver or the domain's name "
            "servers are broken",
            f"retry, and {compare}; a DNS filter may also answer SERVFAIL",
        ),
        ErrorKind.DNS_TIMEOUT: (
            f"no answer within {options.timeout:g} s",
            f"the resolver {server} did not answer within {options.timeout:g} s",
            f"check that DNS (UDP/TCP 53) is allowed out; {compare}",
        ),
        ErrorKind.DNS_NO_ANSWER: (
            "no A or AAAA record",
            f"{host} exists but has no address records at {server}",
            "the name is not meant for connections, or the DNS zone is incomplete",
        ),
    }
    if kind is ErrorKind.DNS_RESOLVER_UNREACHABLE:
        summary, cause, fix = _unreachable_text(host, in_use, queries)
    else:
        summary, cause, fix = texts[kind]
    return StageResult(Stage.RESOLVE, host, Status.FAIL, summary, kind, cause, fix, details, phases)


# Public resolvers to compare with, in order: never one that was already asked (issue 9).
_PUBLIC_RESOLVERS = ("1.1.1.1", "9.9.9.9", "8.8.8.8")


def compare_hint(in_use: Sequence[str]) -> str:
    """'compare with --resolver IP', never naming a resolver that was already asked."""
    other = next((r for r in _PUBLIC_RESOLVERS if r not in in_use), None)
    return f"compare with --resolver {other}" if other else "compare with another resolver"


# errno → (short reason, what it means for a resolver). Linux, macOS and the BSDs
# share these names; ICMP port unreachable reaches a connected UDP socket as ECONNREFUSED.
_TRANSPORT: dict[int, tuple[str, str]] = {
    errno.ECONNREFUSED: (
        "nothing listens there",
        "its host answered ICMP port unreachable: no DNS server runs at that address and "
        "port, or the address or port is wrong",
    ),
    errno.ENETUNREACH: (
        "no route to it",
        "this machine has no route to that network: it is offline, has no default route, "
        "or the resolver belongs to a network (a VPN, another LAN) it is not on",
    ),
    errno.EHOSTUNREACH: (
        "host unreachable",
        "a router or firewall answered host unreachable, or the resolver's host is down",
    ),
    errno.EACCES: ("sending not permitted", "this machine's own firewall refuses to send to it"),
    errno.EPERM: ("sending not permitted", "this machine's own firewall refuses to send to it"),
    errno.EADDRNOTAVAIL: (
        "no source address",
        "this machine has no address to send from to it (IPv6 disabled, or not configured)",
    ),
    errno.ENETDOWN: ("network down", "the network interface towards it is down"),
}


def _errno_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)


def _unreachable_of(queries: list[_Query]) -> dict[str, OSError]:
    """Resolver → the transport error it met, over both queries (first one wins)."""
    found: dict[str, OSError] = {}
    for query in queries:
        for server, exc in query.unreachable:
            found.setdefault(server, exc)
    return found


def _unreachable_text(host: str, in_use: _InUse, queries: list[_Query]) -> tuple[str, str, str]:
    """Which resolver could not be reached, the errno, and a fix that fits who chose it."""
    unreachable = _unreachable_of(queries)
    label, first = next(iter(unreachable.items()))
    reason = _TRANSPORT.get(first.errno or 0, (first.strerror or str(first), ""))[0]
    summary = f"resolver {label} unreachable: {reason} ({_errno_name(first)})"
    causes = []
    for server, exc in unreachable.items():
        meaning = _TRANSPORT.get(exc.errno or 0, ("", ""))[1]
        causes.append(
            f"{server}: {exc.strerror or exc} ({_errno_name(exc)})"
            + (f"; {meaning}" if meaning else "")
        )
    cause = f"could not ask {'any resolver' if len(causes) > 1 else 'the resolver'} about {host}: "
    cause += " | ".join(causes)
    refused = first.errno == errno.ECONNREFUSED
    compare = compare_hint(in_use.addresses)
    if in_use.chosen and refused:
        fix = (
            "check the address and port given to --resolver and that a DNS server runs "
            "there, or leave --resolver out to use the system's resolver"
        )
    elif in_use.chosen:
        fix = (
            "check the network connection, VPN and firewall; on a network that allows only "
            "its own DNS, leave --resolver out to use the system's resolver"
        )
    elif refused and ipaddress.ip_address(in_use.addresses[in_use.labels.index(label)]).is_loopback:
        fix = (
            "start the local resolver /etc/resolv.conf points at (systemd-resolved, dnsmasq, "
            f"unbound …) or fix /etc/resolv.conf; {compare}"
        )
    elif refused:
        fix = f"fix the network's DNS settings (DHCP, VPN, /etc/resolv.conf); {compare}"
    else:
        fix = (
            "check the network connection and VPN: /etc/resolv.conf (from DHCP or a VPN) may "
            f"name a resolver of a network this machine is no longer on; {compare}"
        )
    return summary, cause, fix


def _nxdomain_text(
    host: str, server: str, cluster: str | None, compare: str
) -> tuple[str, str, str]:
    summary = "name does not exist (NXDOMAIN)"
    if cluster in PUBLIC_CLUSTERS:
        # A public cluster's names exist: NXDOMAIN means this resolver cannot see the internet.
        return (
            summary,
            f"{server} says {host} does not exist, but {cluster} is a public Pusher cluster: "
            "this resolver does not answer for the public internet (offline, a filtering or "
            "split-horizon DNS, a captive portal, or a VPN's DNS)",
            f"{compare}; check the network connection, VPN and DNS filter",
        )
    if cluster:
        return (
            summary,
            f"{server} says {host} does not exist: there is no Pusher cluster named {cluster!r}",
            "check the cluster name against the app's dashboard (public clusters: "
            f"{', '.join(PUBLIC_CLUSTERS)})",
        )
    return summary, f"{server} says {host} does not exist", "check the host name's spelling"


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return bool(
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_reserved
        or (ip.version == 4 and ip in _CGNAT)
    )


def addresses_of(result: StageResult) -> list[str]:
    """The addresses a later stage should connect to, in answer order (IPv4 and IPv6)."""
    return list(result.outcome.addresses) if isinstance(result.outcome, Resolved) else []
