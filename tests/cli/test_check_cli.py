"""The layered commands end to end, through the CLI, against real servers on loopback."""

from __future__ import annotations

import json
import os
import socket
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from tests.servers.soketi import Soketi
from wsdiag.cli import cli

SCHEMA = json.loads(resources.files("wsdiag").joinpath("schema/report-v2.json").read_text())


def invoke(*args: str) -> Result:
    clean = {k: None for k in os.environ if k.startswith(("PUSHER_", "WSDIAG_", "GITHUB_"))}
    return CliRunner().invoke(cli, list(args), env={**clean, "COLUMNS": "160"})


def report_of(result: Result) -> dict[str, Any]:
    document = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    return document


def by_stage(document: dict[str, Any], stage: str) -> list[dict[str, Any]]:
    return [r for r in document["results"] if r["stage"] == stage]


@pytest.mark.soketi
def test_check_happy_path_against_soketi(soketi: Soketi) -> None:
    # A client set up for soketi has no HTTP transport (soketi serves no fallback).
    result = invoke(
        "check",
        soketi.ws_url,
        "--key",
        soketi.key,
        "--json",
        "--timeout",
        "3",
        "--enabled-transports",
        "ws,wss",
    )
    assert result.exit_code == 0, result.output
    document = report_of(result)
    assert document["status"] == "ok"
    assert [r["stage"] for r in document["results"]] == [
        "resolve",
        "reach",
        "tls",
        "websocket",
        "ping",
        "fallback",
    ]
    assert by_stage(document, "fallback")[0]["status"] == "skipped"
    websocket = by_stage(document, "websocket")[0]
    assert websocket["status"] == "ok"
    assert websocket["details"]["socket_id"].count(".") == 1
    assert websocket["details"]["activity_timeout"] == 30  # soketi's value
    assert [p["name"] for p in websocket["phases"]] == ["connect", "upgrade", "handshake"]
    ping = by_stage(document, "ping")[0]
    assert len(ping["details"]["samples_ms"]) == 5
    assert ping["details"]["min"] <= ping["details"]["median"] <= ping["details"]["max"]
    assert document["verdict"].startswith("OK: ")


@pytest.mark.soketi
def test_check_without_key_proves_the_path_with_4001(soketi: Soketi) -> None:
    result = invoke("check", soketi.ws_url, "--json")
    assert result.exit_code == 0, result.output
    document = report_of(result)
    websocket = by_stage(document, "websocket")[0]
    assert websocket["status"] == "ok"
    assert websocket["details"]["close_code"] == 4001
    assert "placeholder key" in websocket["summary"]
    assert "no --key" in document["verdict"]


@pytest.mark.soketi
def test_wrong_key_is_4001_with_the_app_config_hint(soketi: Soketi) -> None:
    """A self-hosted server's keys are in its app config: no cluster hint (issue 9, defect 12)."""
    result = invoke("check", soketi.ws_url, "--key", "12345")
    assert result.exit_code == 1
    assert "[pusher_4001]" in result.stdout
    assert "SOKETI_DEFAULT_APP_KEY" in result.stdout
    assert "PUSHER_APP_CLUSTER" not in result.stdout
    assert "looks like the app *id*" in result.stderr  # a note, on stderr in every command


@pytest.mark.soketi
def test_the_client_configuration_that_works_comes_after_the_verdict(soketi: Soketi) -> None:
    args = ("check", soketi.ws_url, "--key", soketi.key, "--timeout", "3")
    document = report_of(invoke(*args, "--json", "--client", "laravel-echo"))
    config = document["client_config"]
    assert config["client"] == "laravel-echo"
    assert config["options"] == {
        "cluster": "mt1",
        "wsHost": "127.0.0.1",
        "wsPort": soketi.port,
        "wssPort": soketi.port,
        "forceTLS": False,
        "enabledTransports": ["ws", "wss"],
    }
    assert config["snippet"].startswith(
        f"new Echo({{\n  broadcaster: 'pusher',\n  key: '{soketi.key}',"
    )
    console = invoke(*args).stdout
    verdict_at = console.index("WARN: ")
    assert console.index("pusher-js configuration that works from here:") > verdict_at
    assert f"new Pusher('{soketi.key}', {{" in console
    assert "  enabledTransports: ['ws', 'wss']," in console  # one line, unwrapped
    assert "client_config" not in report_of(invoke(*args, "--json", "--client", "none"))
    assert invoke(*args, "-q").stdout.count("\n") == 1  # the verdict only


def test_no_client_configuration_when_nothing_connects(tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, not listening: refused
        port = closed.getsockname()[1]
        result = invoke("check", f"ws://127.0.0.1:{port}", "--key", "k", "--json")
    assert result.exit_code == 1
    assert "client_config" not in report_of(result)


@pytest.mark.soketi
def test_junit_and_quiet(soketi: Soketi, tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    result = invoke(
        "check",
        soketi.ws_url,
        "--key",
        soketi.key,
        "-q",
        "--junit",
        str(junit),
        "--enabled-transports",
        "ws,wss",
    )
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("OK: ")
    suite = ET.parse(junit).getroot()
    cases = suite.findall("testcase")
    assert [c.get("classname") for c in cases] == [
        "wsdiag.resolve",
        "wsdiag.reach",
        "wsdiag.tls",
        "wsdiag.websocket",
        "wsdiag.ping",
        "wsdiag.fallback",
    ]
    assert suite.get("failures") == "0"
    assert cases[2].find("skipped") is not None  # ws:// has no TLS
    assert cases[5].find("skipped") is not None  # a client without HTTP transports


@pytest.mark.soketi
def test_connect_command_details(soketi: Soketi) -> None:
    result = invoke("connect", soketi.ws_url, "--key", soketi.key, "--pings", "3")
    assert result.exit_code == 0, result.output
    assert "socket_id:" in result.stdout
    assert "samples_ms:" in result.stdout


def test_refused_port_fails_and_later_stages_skip() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        result = invoke("check", f"ws://127.0.0.1:{port}", "--json", "--timeout", "2")
    assert result.exit_code == 1
    document = report_of(result)
    reach = by_stage(document, "reach")[0]
    assert reach["kind"] == "tcp_refused"
    assert reach["fix"]
    assert by_stage(document, "websocket")[0]["status"] == "skipped"
    assert document["results"][document["first_failure"]]["kind"] == "tcp_refused"


def test_resolve_command_on_an_ip() -> None:
    result = invoke("resolve", "ws://127.0.0.1:6001", "--json")
    assert result.exit_code == 0
    assert report_of(result)["results"][0]["summary"] == "IP address, nothing to resolve"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "ftp://x"], "scheme must be"),
        (["check", "mt1", "--resolver", "dns.google"], "not an IP address"),
        (["check", "mt1", "--json", "--quiet"], "cannot be used together"),
        (["check", "--port", "70000", "--host", "x"], "70000"),
        (["check"], "no target"),
        (["check", "mt1", "--timeout", "0"], "0"),
        (["nonsense"], "No such command"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
