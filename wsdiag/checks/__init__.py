"""The network stages. Each stage is a function that returns ``StageResult`` records.

Stages never print and never raise for an expected failure (a refused port,
an expired certificate, a 4001 close): those are results. Only bugs raise,
and ``wsdiag.checks.runner`` turns them into ``ErrorKind.INTERNAL`` records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsdiag.proxy import Proxy


@dataclass(frozen=True)
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
