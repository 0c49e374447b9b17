"""The network stages. Each stage is a function that returns ``StageResult`` records.

Stages never print and never raise for an expected failure (a refused port,
an expired certificate, a 4001 close): those are results. Only bugs raise,
and ``wsdiag.checks.runner`` turns them into ``ErrorKind.INTERNAL`` records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING

from wsdiag.records import record

if TYPE_CHECKING:
    import ssl

    from wsdiag.dialer import Connection
    from wsdiag.models import Stopwatch
    from wsdiag.proxy import Proxy


@record
class CheckOptions:
    """Knobs shared by every stage; the CLI fills them from flags."""

    timeout: float = 5.0  # seconds, for each network step (connect, handshake, reply…)
    resolver: tuple[str, int] | None = None  # (ip, port); None: the system's resolver
    ca_bundle: str | None = None  # PEM file; None: certifi's bundle
    verify_tls: bool = True
    ping_count: int = 5
    proxy: Proxy | None = None  # every connection through this HTTP proxy (CONNECT)
    # Host → addresses the resolve stage found (with --resolver, what it said): the
    # later stages connect to these instead of asking the system resolver again.
    resolved: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    origin: str | None = None  # the upgrade's Origin header; None: the target's own


def dial_stage(
    host: str,
    port: int,
    options: CheckOptions,
    *,
    addresses: Sequence[str] | None,
    watch: Stopwatch | None = None,
    tls: ssl.SSLContext | None = None,
) -> Connection:
    """``dialer.dial`` with the run's timeout and proxy; DialError on failure.

    Through a proxy the addresses are dropped: the proxy resolves ``host``.
    ``watch``: the stage's stopwatch; None for a side connection that is not
    part of the stage's timing (reading a rejected chain, probing for TLS).
    """
    from wsdiag.dialer import dial
    from wsdiag.models import Stopwatch

    return dial(
        host,
        port,
        timeout=options.timeout,
        watch=watch or Stopwatch(),
        addresses=tunnel_addresses(options, addresses),
        proxy=options.proxy,
        tls=tls,
    )


def tunnel_addresses(
    options: CheckOptions, addresses: Sequence[str] | None
) -> Sequence[str] | None:
    """The addresses a dial races: none through a proxy that resolves names itself (HTTP
    CONNECT, socks5h://, socks4a://); socks5:// and socks4:// are handed what was resolved here."""
    if options.proxy is not None and not options.proxy.resolves_here:
        return None
    return addresses
