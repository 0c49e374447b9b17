"""Partial faults judged as the client lives them (issue 9).

A client machine (a network namespace) talks to soketi in the root namespace
through relays bound on the link's IPv4 and IPv6 addresses; its own firewall
(iptables OUTPUT) drops one family or one port, as office and CI egress
filters do. wsdiag runs *on* that machine (``ip netns exec``), so the system
resolver reads the namespace's hosts file, exactly as the user's own client
would. When the client still has a working path, the verdict is OK or WARN
(exit 0) with the consequence spelled out; the broken path is never the
headline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.faults.harness import Outcome, credentials, run_wsdiag
from tests.servers.dns import dns_server
from tests.servers.netns import ClientHost, client_host
from tests.servers.proxy import forward_proxy
from tests.servers.relay import relay_on
from tests.servers.soketi import Soketi
from tests.servers.tls import NAME, days_from_now, make_context, tls_server

pytestmark = [pytest.mark.netns, pytest.mark.soketi]

TIMEOUT = 2.0


@contextlib.contextmanager
def soketi_on_both_families(
    client: ClientHost, soketi: Soketi, port: int = 0, context: Any = None
) -> Iterator[int]:
    """Relays to soketi on the client's IPv4 and IPv6 server addresses, one port for both."""
    addresses = [client.server_ipv4, client.server_ipv6]
    with relay_on(addresses, (soketi.host, soketi.port), port, context=context) as bound:
        yield bound


def results(outcome: Outcome, stage: str) -> list[dict[str, Any]]:
    return [r for r in outcome.report()["results"] if r["stage"] == stage]


def test_ipv6_dropped_ipv4_fine_publish_and_check_use_ipv4(tmp_path: Path, soketi: Soketi) -> None:
    """#1: the HTTP API raced the families too, as curl and the server libraries do."""
    name = "dual.wsdiag.invalid"
    # The server addresses are only known once the link exists: the hosts file
    # maps the name to both ends' peers (IPv6 first, as getaddrinfo sorts them).
    with client_host(lambda c: {name: [c.server_ipv6, c.server_ipv4]}) as client:
        zone = {name: {"A": [(client.server_ipv4, 60)], "AAAA": [(client.server_ipv6, 60)]}}
        with (
            soketi_on_both_families(client, soketi) as port,
            dns_server(zone, host=client.server_ipv4) as dns,
        ):
            client.block(port, "drop", family="ipv6")
            published = run_wsdiag(
                "publish",
                f"ws://{name}:{port}",
                "wsdiag-v6",
                "ping",
                "{}",
                *credentials(soketi),
                "--timeout",
                str(TIMEOUT),
                "--json",
                home=tmp_path,
                prefix=client.command,
            )
            checked = run_wsdiag(
                "check",
                f"ws://{name}:{port}",
                *credentials(soketi),
                "--resolver",
                f"{dns.address[0]}:{dns.address[1]}",
                "--timeout",
                str(TIMEOUT),
                "--json",
                home=tmp_path,
                prefix=client.command,
            )
    assert published.exit_code == 0, published.describe()
    assert checked.exit_code == 0, checked.describe()
    assert [r["status"] for r in results(checked, "api")] == ["ok"], checked.describe()
    assert [r["status"] for r in results(checked, "delivery")] == ["ok"], checked.describe()
    v6_rows = [r for r in results(checked, "reach") if r["details"].get("family") == "ipv6"]
    assert [r["status"] for r in v6_rows] == ["warn"], checked.describe()
    assert "Happy Eyeballs" in v6_rows[0]["cause"]
    assert checked.report()["status"] == "warn"


@pytest.mark.parametrize(
    ("kind", "server"),
    [
        ("tls_expired", {"not_before": days_from_now(-30), "not_after": days_from_now(-1)}),
        ("tls_hostname_mismatch", {"names": ("other.wsdiag.invalid",)}),
        ("tls_untrusted_issuer", {"trusted_ca": False}),
    ],
)
def test_ipv6_refused_does_not_hide_the_tls_fault(
    tmp_path: Path, kind: str, server: dict[str, Any]
) -> None:
    """#2: a TLS server on IPv4 only; its IPv6 port refuses. The certificate is the headline."""
    zone = {NAME: {"A": [("127.0.0.1", 60)], "AAAA": [("::1", 60)]}}
    with (
        tls_server(tmp_path, "tls", *server.pop("names", ()), **server) as running,
        dns_server(zone) as dns,
    ):
        outcome = run_wsdiag(
            "tls",
            f"wss://{NAME}:{running.port}",
            "--resolver",
            f"{dns.address[0]}:{dns.address[1]}",
            "--ca-bundle",
            running.ca_bundle,
            "--timeout",
            "1",
            "--json",
            home=tmp_path,
        )
    assert outcome.exit_code == 1, outcome.describe()
    document = outcome.report()
    headline = document["results"][document["first_failure"]]
    assert (headline["stage"], headline["kind"]) == ("tls", kind), outcome.describe()
    refused = [r for r in results(outcome, "reach") if r["kind"] == "tcp_refused"]
    assert [r["status"] for r in refused] == ["warn"], outcome.describe()


@contextlib.contextmanager
def cluster_relays(client: ClientHost, soketi: Soketi, tmp_path: Path) -> Iterator[str]:
    """ws-fw / api-fw / sockjs-fw.pusher.com: TLS on 443 and plain on 80, both families."""
    ca = trustme.CA()
    bundle = tmp_path / "fw-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with (
        soketi_on_both_families(client, soketi, 443, make_context(ca, *FW_NAMES)),
        soketi_on_both_families(client, soketi, 80),
    ):
        yield str(bundle)


FW_NAMES = tuple(f"{p}-fw.pusher.com" for p in ("ws", "api", "sockjs"))


@pytest.mark.parametrize("blocked_by", ["firewall", "proxy"])
def test_port_80_blocked_443_fine_passes(tmp_path: Path, soketi: Soketi, blocked_by: str) -> None:
    """#3: wss:// on 443 works end to end: port 80 being blocked is a warning, exit 0.

    Blocked by the client's firewall (DROP), or by a proxy on the client's
    network that CONNECTs to 443 only (tinyproxy answers 403 for port 80).
    """
    with client_host(lambda c: {n: [c.server_ipv4] for n in FW_NAMES}) as client:
        zone = {n: {"A": [(client.server_ipv4, 60)]} for n in FW_NAMES}
        with (
            cluster_relays(client, soketi, tmp_path) as bundle,
            dns_server(zone, host=client.server_ipv4) as dns,
            contextlib.ExitStack() as stack,
        ):
            extra: list[str] = []
            if blocked_by == "firewall":
                client.block(80)
            else:
                port = stack.enter_context(
                    forward_proxy(tmp_path, connect_ports=(443,), namespace=client.name)
                )
                extra = ["--proxy", f"http://127.0.0.1:{port}"]
            outcome = run_wsdiag(
                "check",
                "fw",
                *credentials(soketi),
                "--resolver",
                f"{dns.address[0]}:{dns.address[1]}",
                "--ca-bundle",
                bundle,
                "--timeout",
                str(TIMEOUT),
                "--json",
                *extra,
                home=tmp_path,
                prefix=client.command,
            )
    assert outcome.exit_code == 0, outcome.describe()
    assert outcome.report()["status"] == "warn", outcome.describe()
    assert [r["status"] for r in results(outcome, "delivery")] == ["ok"], outcome.describe()
    port_80 = [r for r in results(outcome, "reach") if r["details"].get("port") == 80]
    assert port_80, outcome.describe()
    assert all(r["status"] == "warn" for r in port_80), outcome.describe()
    assert all("forceTLS" in r["cause"] for r in port_80), outcome.describe()
