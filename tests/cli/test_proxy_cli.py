"""Through a real forward proxy (tinyproxy): every command tunnels; settings as curl reads them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Outcome, credentials, run_wsdiag
from tests.servers.proxy import forward_proxy
from tests.servers.soketi import Soketi
from tests.servers.tls import tls_server

pytestmark = pytest.mark.soketi
USER, PASSWORD = "alice", "proxy-pw-7Qx"


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[str]:
    with forward_proxy(tmp_path, basic_auth=(USER, PASSWORD)) as port:
        yield f"http://{USER}:{PASSWORD}@127.0.0.1:{port}"


def check_through(proxy: str, soketi: Soketi, home: Path, *extra: str) -> Outcome:
    """The whole check of ``soketi`` (test events included) through ``proxy``, as JSON."""
    return run_wsdiag(
        "check", soketi.ws_url, *credentials(soketi), "--proxy", proxy, "--json", *extra, home=home
    )


def test_check_end_to_end_through_the_proxy(tmp_path: Path, soketi: Soketi, proxy: str) -> None:
    outcome = check_through(proxy, soketi, tmp_path, "--events", "2", "--debug", "--timeout", "3")
    assert outcome.exit_code == 0, outcome.describe()
    report = outcome.report()
    stages = {r["stage"]: r for r in report["results"]}
    assert set(stages) >= {"reach", "websocket", "ping", "api", "subscribe", "delivery"}
    assert stages["reach"]["subject"].endswith("via proxy")
    assert [p["name"] for p in stages["reach"]["phases"]] == ["proxy", "tunnel"]
    assert stages["websocket"]["details"]["proxy"] == f"http://{USER}:***@" + proxy.split("@")[1]
    assert any("through the HTTP proxy" in note for note in report["notes"])
    assert PASSWORD not in outcome.stdout + outcome.stderr


def test_latency_through_the_proxy_is_not_held_by_nagle(
    tmp_path: Path, soketi: Soketi, proxy: str
) -> None:
    """issue 9 #7: tinyproxy writes to us with Nagle on; while our delayed ACK (up to
    40 ms) was pending it held the next event, so back-to-back test events read
    15-40 ms through the proxy and 1 ms direct. The bound is far above loopback
    latency and far below the stall; the exact figures are in benchmarks (answer)."""
    outcome = check_through(proxy, soketi, tmp_path, "--events", "20")
    assert outcome.exit_code == 0, outcome.describe()
    (delivery,) = [r for r in outcome.report()["results"] if r["stage"] == "delivery"]
    assert delivery["details"]["median"] < 10, outcome.describe()


def test_https_proxy_from_the_environment(tmp_path: Path, soketi: Soketi, proxy: str) -> None:
    outcome = run_wsdiag(
        "connect",
        soketi.ws_url,
        "--key",
        soketi.key,
        "--json",
        home=tmp_path,
        env={"HTTPS_PROXY": proxy},
    )
    assert outcome.exit_code == 0, outcome.describe()
    notes = outcome.report()["notes"]
    assert any("from HTTPS_PROXY" in note for note in notes), notes


@pytest.mark.parametrize(
    ("extra_args", "env"),
    [
        ([], {"NO_PROXY": "localhost,127.0.0.1"}),
        (["--proxy", "direct"], {}),
    ],
)
def test_bypassing_the_proxy(
    tmp_path: Path, soketi: Soketi, extra_args: list[str], env: dict[str, str]
) -> None:
    # The proxy address is dead: going through it would fail, so success means direct.
    outcome = run_wsdiag(
        "connect",
        soketi.ws_url,
        "--key",
        soketi.key,
        "--json",
        *extra_args,
        home=tmp_path,
        env={"HTTPS_PROXY": "http://127.0.0.1:9", **env},
    )
    assert outcome.exit_code == 0, outcome.describe()
    assert not any("proxy" in note for note in outcome.report()["notes"])


def test_publish_and_tail_through_the_proxy(tmp_path: Path, soketi: Soketi, proxy: str) -> None:
    published = run_wsdiag(
        "publish",
        soketi.ws_url,
        "news",
        "tick",
        '{"n":1}',
        *credentials(soketi),
        "--proxy",
        proxy,
        "--json",
        home=tmp_path,
    )
    assert published.exit_code == 0, published.describe()
    phases = [p["name"] for p in published.report()["results"][0]["phases"]]
    assert phases[:2] == ["proxy", "tunnel"]
    tailed = run_wsdiag(
        "tail",
        soketi.ws_url,
        "news",
        "--key",
        soketi.key,
        "--proxy",
        proxy,
        "--duration",
        "1",
        home=tmp_path,
    )
    assert tailed.exit_code == 0, tailed.describe()
    assert "subscribed news" in tailed.stderr
    assert PASSWORD not in published.stdout + tailed.stdout + tailed.stderr


def test_tls_through_the_proxy_sends_the_target_name(tmp_path: Path, proxy: str) -> None:
    with tls_server(tmp_path, "tls", "localhost") as server:
        outcome = run_wsdiag(
            "tls",
            f"wss://localhost:{server.port}",
            "--ca-bundle",
            server.ca_bundle,
            "--proxy",
            proxy,
            "--json",
            home=tmp_path,
        )
    assert outcome.exit_code == 0, outcome.describe()
    tls = next(r for r in outcome.report()["results"] if r["stage"] == "tls")
    assert tls["status"] == "ok"
    assert tls["details"]["sni"] == "localhost"
    assert tls["details"]["verified"] is True


@pytest.mark.parametrize("url", ["socks6://127.0.0.1:1080", "https://proxy:3128", "http://"])
def test_unusable_proxy_urls_are_usage_errors(tmp_path: Path, url: str) -> None:
    outcome = run_wsdiag("connect", "ws://127.0.0.1:9", "--proxy", url, home=tmp_path)
    assert outcome.exit_code == 2, outcome.describe()
    assert "Traceback" not in outcome.stderr
    last = outcome.stderr.strip().splitlines()[-1]
    assert last.startswith("Error:") and "--proxy" in last


def test_a_password_in_a_bad_proxy_url_is_not_echoed(tmp_path: Path) -> None:
    outcome = run_wsdiag(
        "connect",
        "ws://127.0.0.1:9",
        "--proxy",
        "ftp://bob:s3cr3t-pw@proxy:1080",
        home=tmp_path,
    )
    assert outcome.exit_code == 2
    assert "s3cr3t-pw" not in outcome.stdout + outcome.stderr


def test_compare_direct_with_both_paths_working(tmp_path: Path, soketi: Soketi, proxy: str) -> None:
    outcome = check_through(
        proxy, soketi, tmp_path, "--compare-direct", "--enabled-transports", "ws,wss"
    )
    assert outcome.exit_code == 0, outcome.describe()
    paths = outcome.report()["compare_direct"]
    assert [p["path"] for p in paths] == [
        f"proxy http://{USER}:***@" + proxy.split("@")[1],
        "direct",
    ]
    assert all(p["status"] == "ok" and p["handshake_ms"] > 0 and p["ping_median_ms"] for p in paths)
    assert PASSWORD not in outcome.stdout + outcome.stderr
    console = run_wsdiag(
        "check", soketi.ws_url, "--key", soketi.key, "--proxy", proxy, "--compare-direct",
        home=tmp_path,
    )  # fmt: skip
    assert "the same check through the proxy and direct:" in console.stdout
    assert "  direct: WARN: " in console.stdout  # the fallback warning, direct too


def test_compare_direct_when_only_the_direct_path_works(tmp_path: Path, soketi: Soketi) -> None:
    with forward_proxy(tmp_path, connect_ports=(443,)) as port:  # CONNECT to soketi's port: 403
        outcome = run_wsdiag(
            "check", soketi.ws_url, "--key", soketi.key, "--proxy", f"http://127.0.0.1:{port}",
            "--compare-direct", "--json", "--timeout", "3", home=tmp_path,
        )  # fmt: skip
    assert outcome.exit_code == 1, outcome.describe()  # the verdict is the proxy's path
    via_proxy, direct = outcome.report()["compare_direct"]
    assert via_proxy["status"] == "fail" and "proxy_denied" in via_proxy["verdict"]
    assert direct["status"] in ("ok", "warn") and direct["handshake_ms"] > 0


def test_compare_direct_needs_a_proxy(tmp_path: Path) -> None:
    outcome = run_wsdiag("check", "mt1", "--compare-direct", home=tmp_path)
    assert outcome.exit_code == 2 and "--compare-direct compares" in outcome.stderr
