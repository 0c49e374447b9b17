"""A small DNS server on a loopback UDP port, scriptable per name, built from dnspython's messages.

Zone entries: ``{"name": {"A": [("1.2.3.4", 60)], "AAAA": [...], "CNAME": "target"}}``
or a fault: ``"nxdomain"``, ``"servfail"``, ``"empty"`` (NOERROR, no answer), ``"silent"``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

Zone = dict[str, Any]


@dataclass
class DnsServer:
    address: tuple[str, int]
    queries: list[tuple[str, str]] = field(default_factory=list)  # (name, type) received


def _norm(name: str) -> str:
    return name.lower().rstrip(".")


def _answer(zone: Zone, query: dns.message.Message) -> dns.message.Message | None:
    question = query.question[0]
    name, rdtype = _norm(question.name.to_text()), dns.rdatatype.to_text(question.rdtype)
    response = dns.message.make_response(query)
    response.flags |= dns.flags.RA
    entry = zone.get(name, "nxdomain")
    while True:
        if entry == "silent":
            return None
        if entry == "nxdomain":
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        if entry == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
            return response
        if entry == "empty":
            return response
        if "CNAME" in entry:  # follow the chain as a recursive resolver does
            target = entry["CNAME"]
            response.answer.append(
                dns.rrset.from_text(name + ".", 300, "IN", "CNAME", target + ".")
            )
            name, entry = _norm(target), zone.get(_norm(target), "nxdomain")
            continue
        for address, ttl in entry.get(rdtype, []):
            response.answer.append(dns.rrset.from_text(name + ".", ttl, "IN", rdtype, address))
        return response


def _serve(sock: socket.socket, zone: Zone, server: DnsServer, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            data, peer = sock.recvfrom(4096)
        except TimeoutError:
            continue
        except OSError:
            return
        query = dns.message.from_wire(data)
        question = query.question[0]
        server.queries.append(
            (_norm(question.name.to_text()), dns.rdatatype.to_text(question.rdtype))
        )
        response = _answer(zone, query)
        if response is not None:
            sock.sendto(response.to_wire(), peer)


def closed_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port nothing listens on: queries to it meet ICMP port unreachable."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


@contextlib.contextmanager
def dns_server(zone: Zone, host: str = "127.0.0.1", port: int = 0) -> Iterator[DnsServer]:
    """``host``/``port``: another address (a namespace's peer) or port 53 for resolv.conf."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.settimeout(0.1)
    server = DnsServer(sock.getsockname())
    stop = threading.Event()
    thread = threading.Thread(
        target=_serve,
        args=(sock, {_norm(k): v for k, v in zone.items()}, server, stop),
        daemon=True,
    )
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()
