"""``wsdiag clusters`` and the key discovery ``check`` runs on a 4001 (issue 10, section 1).

Two soketi instances with different apps stand for two clusters: a client
machine (network namespace) resolves ``ws-mt1.pusher.com`` to the link's IPv4
address and ``ws-eu.pusher.com`` to its IPv6 address through the test DNS
server; a TLS relay on port 443 of each address leads to one soketi. Every
other cluster's name does not exist there.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import trustme

from tests.faults.harness import Outcome, run_wsdiag, startup_s
from tests.servers.dns import dns_server
from tests.servers.netns import ClientHost, client_host
from tests.servers.relay import listening_socket, relay
from tests.servers.soketi import Soketi, start_soketi
from tests.servers.tls import make_context
from wsdiag.checks.clusters import ClusterResult, key_cluster_fix, nearest, ranked
from wsdiag.models import ErrorKind, Handshake, Latency, Phase, Stage, StageResult, Status
from wsdiag.render.clusters import clusters_document, clusters_lines
from wsdiag.target import PUBLIC_CLUSTERS

TIMEOUT = 2.0
HOSTS = ("ws-mt1.pusher.com", "ws-eu.pusher.com")


@dataclass(frozen=True)
class Bed:
    client: ClientHost
    resolver: str
    ca_bundle: str
    mt1: Soketi
    eu: Soketi

    def run(self, *args: str, home: Path, env: dict[str, str] | None = None) -> Outcome:
        return run_wsdiag(
            *args,
            "--resolver",
            self.resolver,
            "--ca-bundle",
            self.ca_bundle,
            "--timeout",
            str(TIMEOUT),
            home=home,
            prefix=self.client.command,
            env=env,
        )


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    ca = trustme.CA()
    bundle = tmp_path_factory.mktemp("clusters") / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    context = make_context(ca, *HOSTS)
    with contextlib.ExitStack() as stack:
        mt1 = stack.enter_context(start_soketi(key="mt1-app-key", secret="mt1-secret-x1"))
        eu = stack.enter_context(
            start_soketi(key="eu-app-key", secret="eu-secret-x2", app_id="67890")
        )
        client = stack.enter_context(
            client_host(lambda c: {HOSTS[0]: [c.server_ipv4], HOSTS[1]: [c.server_ipv6]})
        )
        zone: dict[str, Any] = {
            HOSTS[0]: {"A": [(client.server_ipv4, 60)]},
            HOSTS[1]: {"AAAA": [(client.server_ipv6, 60)]},
        }
        dns = stack.enter_context(dns_server(zone, host=client.server_ipv4))
        v4 = listening_socket(client.server_ipv4, 443)
        v6 = listening_socket(client.server_ipv6, 443)
        stack.enter_context(relay(v4, (mt1.host, mt1.port), context))
        stack.enter_context(relay(v6, (eu.host, eu.port), context))
        yield Bed(client, f"{dns.address[0]}:{dns.address[1]}", str(bundle), mt1, eu)


def validate(document: dict[str, Any]) -> None:
    schema = json.loads(resources.files("wsdiag").joinpath("schema/clusters-v1.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)


def _rows(outcome: Outcome) -> dict[str, dict[str, Any]]:
    return {row["cluster"]: row for row in outcome.report()["clusters"]}


@pytest.mark.netns
@pytest.mark.soketi
def test_key_discovery_names_the_cluster_that_accepts_the_key(bed: Bed, tmp_path: Path) -> None:
    outcome = bed.run("clusters", "--key", bed.eu.key, "--pings", "3", "--json", home=tmp_path)
    assert outcome.exit_code == 0, outcome.describe()
    document = outcome.report()
    validate(document)
    assert document["key_clusters"] == ["eu"], outcome.describe()
    assert document["key_rejected_by"] == ["mt1"], outcome.describe()
    assert document["nearest"] in ("mt1", "eu")
    rows = _rows(outcome)
    assert rows["eu"]["key"] == "accepted" and len(rows["eu"]["samples_ms"]) == 3
    assert rows["mt1"]["key"] == "4001" and rows["mt1"]["reachable"] is True
    for name in ("us2", "us3", "ap1", "ap2", "ap3", "ap4", "sa1"):
        assert rows[name]["reachable"] is False
        assert rows[name]["kind"] == "dns_nxdomain", outcome.describe()
    # ranked: the two reachable clusters first
    assert {row["cluster"] for row in document["clusters"][:2]} == {"mt1", "eu"}
    for secret in (bed.mt1.secret, bed.eu.secret):
        assert secret not in outcome.stdout + outcome.stderr


@pytest.mark.netns
@pytest.mark.soketi
def test_the_key_comes_from_the_settings_as_for_every_command(bed: Bed, tmp_path: Path) -> None:
    """No --key: PUSHER_APP_KEY (as check, tail and publish read it) names the key to look for."""
    env = {"PUSHER_APP_KEY": bed.eu.key}
    outcome = bed.run("clusters", "--pings", "1", "--json", home=tmp_path, env=env)
    assert outcome.exit_code == 0, outcome.describe()
    assert outcome.report()["key_clusters"] == ["eu"], outcome.describe()


@pytest.mark.netns
@pytest.mark.soketi
def test_console_table_ranks_by_ping_and_names_the_nearest(bed: Bed, tmp_path: Path) -> None:
    outcome = bed.run("clusters", "--key", bed.mt1.key, home=tmp_path)
    assert outcome.exit_code == 0, outcome.describe()
    lines = outcome.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("cluster"))
    assert {lines[header + 1].split()[0], lines[header + 2].split()[0]} == {"mt1", "eu"}
    assert any(line.startswith("Nearest: ") for line in lines), outcome.stdout
    assert "Key: accepted by mt1: set cluster: 'mt1' / PUSHER_APP_CLUSTER=mt1" in lines
    assert "     4001 (not in this cluster) from eu" in lines


def _websocket_4001(outcome: Outcome) -> dict[str, Any]:
    """The wss:// path's record (api- and sockjs- hosts do not resolve in this bed)."""
    found = [
        r
        for r in outcome.report()["results"]
        if r["stage"] == "websocket" and r["subject"].startswith("wss://")
    ]
    assert [r["kind"] for r in found] == ["pusher_4001"], outcome.describe()
    return dict(found[0])


@pytest.mark.netns
@pytest.mark.soketi
def test_check_on_4001_says_which_cluster_knows_the_key(bed: Bed, tmp_path: Path) -> None:
    outcome = bed.run("check", "mt1", "--key", bed.eu.key, "--json", home=tmp_path)
    assert outcome.exit_code == 1, outcome.describe()
    headline = _websocket_4001(outcome)
    assert headline["fix"] == (
        "this key belongs to eu, not mt1: set cluster: 'eu' / PUSHER_APP_CLUSTER=eu"
    )


@pytest.mark.netns
@pytest.mark.soketi
def test_check_on_4001_with_a_key_no_cluster_knows(bed: Bed, tmp_path: Path) -> None:
    outcome = bed.run("check", "eu", "--key", "nobody-has-this-key", "--json", home=tmp_path)
    headline = _websocket_4001(outcome)
    assert headline["fix"].startswith("no other public cluster accepts this key either")


def test_no_cluster_reachable_exits_1_within_one_timeout(tmp_path: Path) -> None:
    """Six clusters' names unanswered (a silent resolver), three missing: one timeout, not six."""
    silent = ("mt1", "us2", "eu", "ap1", "ap2", "sa1")
    zone: dict[str, Any] = {f"ws-{c}.pusher.com": "silent" for c in silent}
    with dns_server(zone) as dns:
        outcome = run_wsdiag(
            "clusters",
            "--resolver",
            f"{dns.address[0]}:{dns.address[1]}",
            "--timeout",
            "1",
            "--json",
            home=tmp_path,
        )
    assert outcome.exit_code == 1, outcome.describe()
    document = outcome.report()
    validate(document)
    assert document["status"] == "fail" and document["nearest"] is None
    kinds = {row["cluster"]: row["kind"] for row in document["clusters"]}
    assert {c for c, kind in kinds.items() if kind == "dns_timeout"} == set(silent), kinds
    assert {kinds[c] for c in ("us3", "ap3", "ap4")} == {"dns_nxdomain"}, kinds
    # the slowest cluster's timeout (1 s) and start-up, not 6 x 1 s of silence in a row
    assert outcome.elapsed < startup_s() + 1 + 1.5, outcome.describe()


def test_ctrl_c_while_every_cluster_waits_exits_at_once(tmp_path: Path) -> None:
    """All nine names asked at once of a silent resolver; Ctrl-C does not sit out the 30 s."""
    from tests.cli.test_signals import interrupt

    zone: dict[str, Any] = {f"ws-{c}.pusher.com": "silent" for c in PUBLIC_CLUSTERS}
    with dns_server(zone) as dns:
        args = ["clusters", "--resolver", f"{dns.address[0]}:{dns.address[1]}", "--timeout", "30"]
        code, _out, err, waited = interrupt(
            args, tmp_path, lambda _: len({name for name, _ in dns.queries}) == len(zone)
        )
    assert code == 130, err
    assert "Interrupted." in err
    assert waited < 3, waited


# ---------------------------------------------------------------- no network


def _cluster(name: str, median: float | None, *, code: int | None = None) -> ClusterResult:
    results = [StageResult(Stage.RESOLVE, f"ws-{name}.pusher.com", Status.OK, "1 address")]
    if code is not None:
        results.append(
            StageResult(
                Stage.WEBSOCKET,
                f"wss://ws-{name}.pusher.com:443",
                Status.FAIL,
                f"{code} app does not exist",
                ErrorKind.PUSHER_APP_NOT_FOUND,
                outcome=Handshake(close_code=code),
            )
        )
    elif median is not None:
        results.append(
            StageResult(
                Stage.WEBSOCKET,
                f"wss://ws-{name}.pusher.com:443",
                Status.OK,
                "connected",
                outcome=Handshake(socket_id="1.2"),
            )
        )
        results.append(
            StageResult(
                Stage.PING,
                f"wss://ws-{name}.pusher.com:443",
                Status.OK,
                "pongs",
                outcome=Latency((median, median), median, median),
            )
        )
    else:
        results[0] = StageResult(
            Stage.RESOLVE, f"ws-{name}.pusher.com", Status.FAIL, "NXDOMAIN", ErrorKind.DNS_NXDOMAIN
        )
    return ClusterResult(name, f"ws-{name}.pusher.com", tuple(results))


def test_ranking_and_console_lines() -> None:
    found = ranked(
        [
            _cluster("mt1", 80.0),
            _cluster("us2", None),
            _cluster("eu", 12.5),
            _cluster("ap1", None, code=4001),
        ]
    )
    assert [r.cluster for r in found] == ["eu", "mt1", "ap1", "us2"]
    assert nearest(found) is found[0]
    assert clusters_lines(found, "k", []) == [
        "cluster  region       status median ms  key       answer",
        "eu       Ireland      ok          12.5  accepted  2 pongs, p95 12.5 ms",
        "mt1      N. Virginia  ok          80.0  accepted  2 pongs, p95 80.0 ms",
        "ap1      Singapore    ok                4001      4001: this key is not in this cluster",
        "us2      Ohio         fail                        resolve: NXDOMAIN",
        "",
        "Nearest: eu (Ireland), ping median 12.5 ms",
        "Key: accepted by eu, mt1: set cluster: 'eu' / PUSHER_APP_CLUSTER=eu",
        "     4001 (not in this cluster) from ap1",
    ]
    document = json.loads(json.dumps(clusters_document(found, None, [])))
    validate(document)
    assert document["nearest"] == "eu" and document["key_clusters"] is None
    assert [c["key"] for c in document["clusters"]] == ["accepted", "accepted", "4001", None]


def test_key_cluster_fix_words() -> None:
    owner, other, gone = (
        _cluster("eu", 10.0),
        _cluster("ap1", None, code=4001),
        _cluster("sa1", None),
    )
    assert key_cluster_fix("mt1", [owner, other, gone], "old fix") == (
        "this key belongs to eu, not mt1: set cluster: 'eu' / PUSHER_APP_CLUSTER=eu"
    )
    assert key_cluster_fix("mt1", [other, gone], "old fix") == (
        "no other public cluster accepts this key either (sa1 could not be reached); old fix"
    )
    assert key_cluster_fix("mt1", [owner, _cluster("us2", 3.0)], None).startswith(
        "this key is accepted by eu, us2, not mt1: set cluster: 'eu'"
    )


def test_without_pings_the_nearest_is_the_soonest_handshake() -> None:
    """No key (every cluster answers the placeholder with 4001, so nothing can be pinged):
    the clusters are still ranked, by the time to the handshake's answer."""

    def answered_4001(name: str, ms: float) -> ClusterResult:
        shake = StageResult(
            Stage.WEBSOCKET,
            f"wss://ws-{name}.pusher.com:443",
            Status.OK,
            "placeholder key rejected with 4001",
            phases=(Phase("connect", ms),),
            outcome=Handshake(close_code=4001, placeholder_key=True),
        )
        return ClusterResult(name, f"ws-{name}.pusher.com", (shake,))

    found = [answered_4001("mt1", 90.0), answered_4001("eu", 20.0), _cluster("us2", None)]
    assert [r.cluster for r in ranked(found)] == ["eu", "mt1", "us2"]
    best = nearest(found)
    assert best is not None and best.cluster == "eu"
    assert "Nearest: eu (Ireland), handshake answered in 20.0 ms" in "\n".join(
        clusters_lines(ranked(found), None, [])
    )
