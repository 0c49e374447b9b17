"""``check --client``: the configuration that works from here, from what the check found.

The options are pusher-js's own names and values; the snippet is JavaScript
that Node parses (checked with ``node --check`` when Node is installed).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.servers.soketi import Soketi
from wsdiag.clientconfig import PathFacts, client_config, client_options, snippet
from wsdiag.target import Endpoint, parse_target


def cluster(name: str = "eu", key: str | None = "app-key"):
    return parse_target(name, key=key)


def test_a_cluster_over_wss() -> None:
    target = cluster()
    options = client_options(PathFacts(target, target.websocket, False))
    assert options == {"cluster": "eu", "forceTLS": True}


def test_a_cluster_only_over_ws_on_80() -> None:
    target = cluster()
    ws80 = Endpoint(target.websocket.host, 80, False)
    assert client_options(PathFacts(target, ws80, False)) == {"cluster": "eu", "forceTLS": False}


def test_a_cluster_reached_only_by_the_fallback_keeps_the_default_transports() -> None:
    options = client_options(PathFacts(cluster(), None, True))
    assert options == {"cluster": "eu"}


def test_nothing_connects_nothing_to_paste() -> None:
    assert client_config(PathFacts(cluster(), None, False), "pusher-js") is None


def test_a_self_hosted_server_gets_host_port_tls_path_and_websocket_only() -> None:
    target = parse_target("wss://ws.example.com:8443/custom/prefix", key="k")
    options = client_options(PathFacts(target, target.websocket, False, activity_timeout_s=50))
    assert options == {
        "cluster": "mt1",
        "wsHost": "ws.example.com",
        "wsPort": 8443,
        "wssPort": 8443,
        "wsPath": "/custom/prefix",
        "forceTLS": True,
        "enabledTransports": ["ws", "wss"],
        "activityTimeout": 50_000,
    }


def test_a_self_hosted_server_that_serves_the_fallback_is_named_its_http_host() -> None:
    target = parse_target("ws://127.0.0.1:6001", key="k")
    options = client_options(PathFacts(target, target.websocket, True))
    assert options is not None
    assert options["httpHost"] == "127.0.0.1" and options["httpPort"] == 6001
    assert "enabledTransports" not in options


def test_snippets_for_each_client() -> None:
    options: dict[str, object] = {"cluster": "eu", "forceTLS": True, "x": ["ws", "wss"]}
    assert snippet("pusher-js", "it's", options) == (
        "new Pusher('it\\'s', {\n  cluster: 'eu',\n  forceTLS: true,\n  x: ['ws', 'wss'],\n})"
    )
    echo = snippet("laravel-echo", "k", options)
    assert echo.startswith("new Echo({\n  broadcaster: 'pusher',\n  key: 'k',\n  cluster: 'eu',")


def test_without_a_key_the_snippet_says_where_it_goes() -> None:
    target = cluster(key=None)
    config = client_config(PathFacts(target, target.websocket, False), "pusher-js")
    assert config is not None
    assert config.snippet.startswith("new Pusher('YOUR_APP_KEY', {")


@pytest.mark.parametrize("client", ["pusher-js", "laravel-echo"])
def test_the_snippet_is_javascript(client: str, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    target = parse_target("wss://ws.example.com/p", key='a"b')
    config = client_config(PathFacts(target, target.websocket, False, 90), client)
    assert config is not None
    source = tmp_path / "snippet.js"
    source.write_text(f"const client = {config.snippet};\n")
    checked = subprocess.run(
        [node, "--check", str(source)], capture_output=True, text=True, timeout=30, check=False
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.soketi
def test_without_a_key_the_placeholder_path_still_gets_a_snippet(soketi: Soketi) -> None:
    from tests.cli.test_check_cli import invoke, report_of

    document = report_of(invoke("check", soketi.ws_url, "--json", "--timeout", "3"))
    assert document["client_config"]["options"]["wsHost"] == "127.0.0.1"
    assert document["client_config"]["snippet"].startswith("new Pusher('YOUR_APP_KEY', {")
