"""A bug inside a stage becomes an `internal` record, and the other stages still run.

The bug is injected (a stage function that raises): no real server makes
wsdiag itself fail, which is exactly what this guards against.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

import pytest
from click.testing import CliRunner

from wsdiag.checks import tls as tls_stage
from wsdiag.cli import cli
from wsdiag.models import Stage


def broken_handshake(*args: Any) -> Any:
    raise ZeroDivisionError("injected bug")


@pytest.fixture
def broken_tls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tls_stage, "handshake_tls", broken_handshake)


def invoke(*args: str) -> Any:
    clean = {k: None for k in os.environ if k.startswith(("PUSHER_", "WSDIAG_", "GITHUB_"))}
    return CliRunner().invoke(cli, list(args), env=clean)


def test_a_bug_in_a_stage_is_an_internal_record(broken_tls: None) -> None:
    # A listening port, so reach succeeds and the (broken) tls stage runs.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        result = invoke("check", f"wss://127.0.0.1:{port}", "--json", "--timeout", "0.5")
    document = json.loads(result.stdout)
    internal = [r for r in document["results"] if r["kind"] == "internal"]
    assert internal and internal[0]["stage"] == str(Stage.TLS)
    assert "ZeroDivisionError: injected bug" in internal[0]["summary"]
    assert "--debug" in internal[0]["fix"]
    assert "trace" not in internal[0]  # the traceback only with --debug
    assert {r["stage"] for r in document["results"]} >= {"resolve", "reach", "websocket"}
    assert result.exit_code == 1


def test_debug_shows_the_traceback(broken_tls: None) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        result = invoke("check", f"wss://127.0.0.1:{port}", "--json", "--debug", "--timeout", "0.5")
    internal = [r for r in json.loads(result.stdout)["results"] if r["kind"] == "internal"]
    assert "Traceback" in internal[0]["trace"]
    assert "ZeroDivisionError" in internal[0]["trace"]
