"""The ``resolve`` stage: A, AAAA and the CNAME chain of a host, with dnspython.

dnspython rather than getaddrinfo so the answer says *why* a name fails
(NXDOMAIN vs SERVFAIL vs a silent resolver) and which resolver said so.
A and AAAA are asked at the same time, each with a lifetime of
``options.timeout`` across all nameservers, so the stage is bounded by one
timeout (plus thread start-up), never by timeout × servers × retries.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dns.resolver

from wsdiag.checks import CheckOptions
from wsdiag.concurrency import Pending
from wsdiag.models import ErrorKind, Phase, Stage, StageResult, Status
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


def _make_resolver(options: CheckOptions, resolv_conf: str) -> dns.resolver.Resolver:
    import dns.resolver  # ~30 ms: only when a name is really resolved (not for IP targets)

    if options.resolver:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [options.resolver[0]]
        resolver.port = options.resolver[1]
    else:
        resolver = dns.resolver.Resolver(filename=resolv_conf, configure=True)
    resolver.timeout = options.timeout
    resolver.lifetime = options.timeout
    return resolver


def _query(resolver: dns.resolver.Resolver, host: str, rdtype: str) -> _Query:
    import time

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
        result.rcode, result.error = "SERVFAIL", ErrorKind.DNS_SERVFAIL
        result.message = str(exc)
    except dns.exception.Timeout:
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
        )
    import dns.resolver

    try:
        resolver = _make_resolver(options, resolv_conf)
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
    server = f"{resolver.nameservers[0]}:{resolver.port}"
    pending = [Pending(_query, resolver, host, t, name="wsdiag-dns") for t in ("A", "AAAA")]
    # Clients resolve through the system (hosts file, nsswitch), not only DNS: ask it too,
    # unless the user picked a resolver.
    system = None if options.resolver else Pending(_system_lookup, host, name="wsdiag-dns")
    queries = [p.result() for p in pending]
    try:
        system_answer = system.result(timeout=options.timeout) if system else None
    except TimeoutError:
        system_answer = None  # getaddrinfo cannot be cancelled; its thread is abandoned
    return _result(host, server, queries, options, expect_public, system_answer)


def _system_lookup(host: str) -> list[str] | None:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _result(
    host: str,
    server: str,
    queries: list[_Query],
    options: CheckOptions,
    expect_public: bool,
    system_answer: list[str] | None = None,
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
    phases = tuple(Phase(q.rdtype.lower(), q.ms) for q in queries)
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
        return _failure(host, server, queries, options, details, phases)
    v4 = sum(a["family"] == "ipv4" for a in addresses)
    v6 = len(addresses) - v4
    summary = f"{v4} IPv4, {v6} IPv6 via {server}" + (f" (CNAME → {chain[-1]})" if chain else "")
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
            "compare with --resolver 1.1.1.1; check VPN, /etc/hosts and the network's DNS",
            details,
            phases,
        )
    return StageResult(Stage.RESOLVE, host, Status.OK, summary, details=details, phases=phases)


# When A and AAAA fail differently, report the most telling reason.
_SEVERITY = [
    ErrorKind.DNS_NXDOMAIN,
    ErrorKind.DNS_SERVFAIL,
    ErrorKind.DNS_TIMEOUT,
    ErrorKind.DNS_NO_ANSWER,
]


def _failure(
    host: str,
    server: str,
    queries: list[_Query],
    options: CheckOptions,
    details: dict[str, Any],
    phases: tuple[Phase, ...],
) -> StageResult:
    kinds = [q.error or ErrorKind.DNS_NO_ANSWER for q in queries]
    kind = min(kinds, key=_SEVERITY.index)
    cluster = re.match(r"^(?:ws|api|sockjs)-([a-z0-9-]+)\.pusher\.com$", host)
    texts = {
        ErrorKind.DNS_NXDOMAIN: _nxdomain_text(host, server, cluster[1] if cluster else None),
        ErrorKind.DNS_SERVFAIL: (
            "resolver failed (SERVFAIL)",
            f"{server} could not resolve {host} (SERVFAIL): the resolver or the domain's name "
            "servers are broken",
            "retry, and compare with --resolver 1.1.1.1; a DNS filter may also answer SERVFAIL",
        ),
        ErrorKind.DNS_TIMEOUT: (
            f"no answer within {options.timeout:g} s",
            f"the resolver {server} did not answer within {options.timeout:g} s",
            "check that DNS (UDP/TCP 53) is allowed out; compare with --resolver 1.1.1.1",
        ),
        ErrorKind.DNS_NO_ANSWER: (
            "no A or AAAA record",
            f"{host} exists but has no address records at {server}",
            "the name is not meant for connections, or the DNS zone is incomplete",
        ),
    }
    summary, cause, fix = texts[kind]
    return StageResult(Stage.RESOLVE, host, Status.FAIL, summary, kind, cause, fix, details, phases)


def _nxdomain_text(host: str, server: str, cluster: str | None) -> tuple[str, str, str]:
    summary = "name does not exist (NXDOMAIN)"
    if cluster in PUBLIC_CLUSTERS:
        # A public cluster's names exist: NXDOMAIN means this resolver cannot see the internet.
        return (
            summary,
            f"{server} says {host} does not exist, but {cluster} is a public Pusher cluster: "
            "this resolver does not answer for the public internet (offline, a filtering or "
            "split-horizon DNS, a captive portal, or a VPN's DNS)",
            "compare with --resolver 1.1.1.1; check the network connection, VPN and DNS filter",
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
    return [str(a["address"]) for a in result.details.get("addresses", [])]
