"""TLS faults through `wsdiag check`, against Python ssl servers with trustme certificates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.harness import Outcome, expect, run_wsdiag
from tests.servers.dns import DnsServer, dns_server
from tests.servers.tls import NAME, days_from_now, tls_server

TIMEOUT = 1.0


@pytest.fixture(scope="module")
def resolver() -> Iterator[DnsServer]:
    with dns_server({NAME: {"A": [("127.0.0.1", 60)]}}) as server:
        yield server


def check(resolver: DnsServer, tmp_path: Path, behaviour: str, **server: Any) -> Outcome:
    with tls_server(tmp_path, behaviour, *server.pop("names", ()), **server) as running:
        return run_wsdiag(
            "check",
            f"wss://{NAME}:{running.port}",
            "--resolver",
            f"{resolver.address[0]}:{resolver.address[1]}",
            "--ca-bundle",
            running.ca_bundle,
            "--timeout",
            str(TIMEOUT),
            "--json",
            home=tmp_path,
        )


@pytest.mark.parametrize(
    ("fault", "behaviour", "server"),
    [
        ("tls.expired", "tls", {"not_before": days_from_now(-30), "not_after": days_from_now(-1)}),
        ("tls.not_yet_valid", "tls", {"not_before": days_from_now(2)}),
        ("tls.wrong_name", "tls", {"names": ("other.wsdiag.invalid",)}),
        ("tls.unknown_ca", "tls", {"trusted_ca": False}),
        ("tls.silent", "silent", {}),
        ("tls.plaintext", "plaintext", {}),
        ("tls.tls10", "tls", {"tls10_only": True}),
    ],
)
def test_tls_faults(
    resolver: DnsServer, tmp_path: Path, fault: str, behaviour: str, server: dict[str, Any]
) -> None:
    outcome = check(resolver, tmp_path, behaviour, **server)
    record = expect(fault, outcome, within=TIMEOUT)
    assert record["stage"] == "tls"
    skipped = [r for r in outcome.report()["results"] if r["stage"] == "websocket"]
    assert all(r["status"] == "skipped" for r in skipped), "no upgrade over a failed handshake"


def test_unknown_ca_names_the_issuer(resolver: DnsServer, tmp_path: Path) -> None:
    """TLS-inspection proxies show up as an unknown issuer: the report must name it."""
    outcome = check(resolver, tmp_path, "tls", trusted_ca=False)
    record = expect("tls.unknown_ca", outcome, within=TIMEOUT)
    assert "trustme" in record["cause"]  # trustme's CA is named "Testing CA #…" by trustme
