"""Through a real SOCKS5 proxy (microsocks from Debian): every command tunnels, failures named."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.harness import Outcome, credentials, run_wsdiag
from tests.servers.relay import refused_port
from tests.servers.socks import dante_proxy, socks_proxy
from tests.servers.soketi import Soketi

USER, PASSWORD = "alice", "socks-pw-9Vz"


@pytest.fixture
def authed() -> Iterator[int]:
    with socks_proxy((USER, PASSWORD)) as port:
        yield port


@pytest.fixture
def open_proxy() -> Iterator[int]:
    with socks_proxy() as port:
        yield port


def reach(target: str, proxy: str, home: Path, env: dict[str, str] | None = None) -> Outcome:
    args = ["reach", target, "--json", "--timeout", "2"]
    return run_wsdiag(*args, "--proxy", proxy, home=home, env=env)


def failure(outcome: Outcome) -> dict[str, Any]:
    assert outcome.exit_code == 1, outcome.describe()
    (found,) = [r for r in outcome.report()["results"] if r["status"] == "fail"]
    return found


@contextlib.contextmanager
def listener() -> Iterator[int]:
    """A TCP port that accepts (and closes) connections: a destination the proxy can reach."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


@pytest.mark.soketi
@pytest.mark.parametrize("scheme", ["socks5h", "socks5"])
def test_check_end_to_end_through_socks_with_credentials(
    tmp_path: Path, soketi: Soketi, authed: int, scheme: str
) -> None:
    proxy = f"{scheme}://{USER}:{PASSWORD}@127.0.0.1:{authed}"
    outcome = run_wsdiag(
        "check",
        soketi.ws_url,
        *credentials(soketi),
        "--proxy",
        proxy,
        "--events",
        "2",
        "--json",
        "--debug",
        home=tmp_path,
    )
    assert outcome.exit_code == 0, outcome.describe()
    stages = {r["stage"]: r for r in outcome.report()["results"]}
    assert set(stages) >= {"reach", "websocket", "ping", "api", "subscribe", "delivery"}
    assert stages["reach"]["subject"].endswith("via proxy")
    assert [p["name"] for p in stages["reach"]["phases"]] == ["proxy", "tunnel"]
    assert stages["websocket"]["details"]["proxy"] == f"{scheme}://{USER}:***@127.0.0.1:{authed}"
    assert PASSWORD not in outcome.stdout + outcome.stderr


@pytest.mark.soketi
@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
def test_socks_proxy_from_the_environment(
    tmp_path: Path, soketi: Soketi, authed: int, variable: str
) -> None:
    """issue 11 §5: HTTPS_PROXY=socks5://… used to be "Invalid value for --proxy"."""
    proxy = f"socks5h://{USER}:{PASSWORD}@127.0.0.1:{authed}"
    outcome = run_wsdiag(
        "connect",
        soketi.ws_url,
        "--key",
        soketi.key,
        "--json",
        home=tmp_path,
        env={variable: proxy},
    )
    assert outcome.exit_code == 0, outcome.describe()
    notes = outcome.report()["notes"]
    assert any(f"from {variable}" in note for note in notes), notes
    assert PASSWORD not in outcome.stdout + outcome.stderr


@pytest.mark.soketi
def test_publish_through_socks(tmp_path: Path, soketi: Soketi, open_proxy: int) -> None:
    outcome = run_wsdiag(
        "publish",
        soketi.ws_url,
        "news",
        "tick",
        '{"n":1}',
        *credentials(soketi),
        "--proxy",
        f"socks5h://127.0.0.1:{open_proxy}",
        "--json",
        home=tmp_path,
    )
    assert outcome.exit_code == 0, outcome.describe()
    phases = [p["name"] for p in outcome.report()["results"][0]["phases"]]
    assert phases[:2] == ["proxy", "tunnel"]


def test_wrong_password_is_named(tmp_path: Path, authed: int) -> None:
    with listener() as port:
        outcome = reach(
            f"ws://127.0.0.1:{port}", f"socks5h://{USER}:wrong-pw-x1@127.0.0.1:{authed}", tmp_path
        )
    found = failure(outcome)
    assert found["kind"] == "proxy_auth_required"
    assert "refused the username and password" in found["cause"]
    assert "wrong-pw-x1" not in outcome.stdout + outcome.stderr


def test_no_credentials_for_a_proxy_that_wants_them(tmp_path: Path, authed: int) -> None:
    with listener() as port:
        found = failure(reach(f"ws://127.0.0.1:{port}", f"socks5h://127.0.0.1:{authed}", tmp_path))
    assert found["kind"] == "proxy_auth_required"
    assert "wants authentication and none was given" in found["cause"]
    assert "socks5h://user:password@" in found["fix"]


def test_destination_refused_by_the_proxy(tmp_path: Path, open_proxy: int) -> None:
    with refused_port() as closed:
        found = failure(
            reach(f"ws://127.0.0.1:{closed}", f"socks5h://127.0.0.1:{open_proxy}", tmp_path)
        )
    assert found["kind"] == "proxy_upstream_error"
    assert "SOCKS5 reply 5 (connection refused)" in found["summary"]
    assert "nothing listens on that port" in found["cause"]


def test_a_name_the_proxy_cannot_resolve(tmp_path: Path, open_proxy: int) -> None:
    found = failure(
        reach("ws://no-such-host.invalid:80", f"socks5h://127.0.0.1:{open_proxy}", tmp_path)
    )
    assert found["kind"] == "proxy_upstream_error"
    assert "no-such-host.invalid:80" in found["summary"]


def test_socks5_resolves_here_and_says_so(tmp_path: Path, open_proxy: int) -> None:
    found = failure(
        reach("ws://no-such-host.invalid:80", f"socks5://127.0.0.1:{open_proxy}", tmp_path)
    )
    assert found["kind"] == "dns_nxdomain"
    assert "socks5h://" in found["fix"]


def test_proxy_unreachable(tmp_path: Path) -> None:
    with listener() as port, refused_port() as no_proxy:
        found = failure(
            reach(f"ws://127.0.0.1:{port}", f"socks5h://127.0.0.1:{no_proxy}", tmp_path)
        )
    assert found["kind"] == "tcp_refused"
    assert found["cause"].startswith("the proxy socks5h://127.0.0.1:")


@contextlib.contextmanager
def http_proxy_lookalike() -> Iterator[int]:
    """Answers every connection with an HTTP error, as an HTTP proxy given as socks5:// does."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                with conn:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def test_not_a_socks_server(tmp_path: Path) -> None:
    with listener() as port, http_proxy_lookalike() as fake:
        found = failure(reach(f"ws://127.0.0.1:{port}", f"socks5h://127.0.0.1:{fake}", tmp_path))
    assert found["kind"] == "proxy_error"
    assert found["summary"].endswith("not a SOCKS5 proxy")
    assert "an HTTP reply: it is an HTTP proxy" in found["cause"]
    assert found["fix"] == "use http:// in the proxy URL"


def test_a_bad_proxy_in_the_environment_names_the_variable(tmp_path: Path) -> None:
    outcome = run_wsdiag(
        "connect",
        "ws://127.0.0.1:9",
        home=tmp_path,
        env={"HTTPS_PROXY": "ftp://carol:s3cr3t-pw@proxy:21"},
    )
    assert outcome.exit_code == 2, outcome.describe()
    assert "--proxy" not in outcome.stderr.replace("--proxy direct", "")
    assert "HTTPS_PROXY=" in outcome.stderr
    assert "s3cr3t-pw" not in outcome.stdout + outcome.stderr


def test_a_destination_the_proxy_rules_forbid(tmp_path: Path) -> None:
    with listener() as port, dante_proxy(tmp_path, blocked_port=port) as dante:
        outcome = reach(f"ws://127.0.0.1:{port}", f"socks5h://127.0.0.1:{dante}", tmp_path)
    found = failure(outcome)
    assert found["kind"] == "proxy_denied"
    assert "SOCKS5 reply 2 (connection not allowed by ruleset)" in found["summary"]


def test_socks4_through_dante(tmp_path: Path) -> None:
    with (
        listener() as port,
        listener() as blocked,
        dante_proxy(tmp_path, blocked_port=blocked) as dante,
    ):
        allowed = reach(f"ws://127.0.0.1:{port}", f"socks4://127.0.0.1:{dante}", tmp_path)
        refused = reach(f"ws://127.0.0.1:{blocked}", f"socks4://127.0.0.1:{dante}", tmp_path)
    assert allowed.exit_code == 0, allowed.describe()
    found = failure(refused)
    assert found["kind"] == "proxy_upstream_error"
    assert "SOCKS4 reply 91 (request rejected or failed)" in found["summary"]
    assert "SOCKS4 does not say which" in found["cause"]


def test_a_socks_proxy_given_as_http(tmp_path: Path, open_proxy: int) -> None:
    with listener() as port:
        found = failure(reach(f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{open_proxy}", tmp_path))
    assert found["kind"] == "proxy_error"
    assert found["summary"] == "the proxy is a SOCKS5 proxy, not an HTTP proxy"
    assert found["fix"] == "use socks5h:// instead of http:// in --proxy"


@pytest.mark.soketi
def test_socks5_resolves_with_the_resolver_given(
    tmp_path: Path, soketi: Soketi, open_proxy: int
) -> None:
    """socks5:// hands the proxy an address resolved here, so --resolver decides it (a name
    only the test DNS server knows); socks5h:// leaves the name to the proxy, which fails."""
    from tests.servers.dns import dns_server

    name = "pusher.wsdiag.test"
    zone = {name: {"A": [("127.0.0.1", 60)], "AAAA": []}}
    with dns_server(zone) as dns:
        resolver = f"{dns.address[0]}:{dns.address[1]}"
        target = f"ws://{name}:{soketi.port}"
        args = ("connect", target, "--key", soketi.key, "--resolver", resolver, "--json")
        here = run_wsdiag(*args, "--proxy", f"socks5://127.0.0.1:{open_proxy}", home=tmp_path)
        there = run_wsdiag(*args, "--proxy", f"socks5h://127.0.0.1:{open_proxy}", home=tmp_path)
        asked = [q for q, _ in dns.queries]
    assert here.exit_code == 0, here.describe()
    resolved = [r for r in here.report()["results"] if r["stage"] == "resolve"]
    assert {r["subject"] for r in resolved} == {name}  # the proxy is an address: only the target
    assert any(q.rstrip(".") == name for q in asked)
    assert there.exit_code == 1  # the proxy's own resolver does not know the name
