"""Keep-alive faults through `wsdiag soak`: an idle relay in front of soketi, soketi's 30 s kick."""

from __future__ import annotations

import json
import os
import time
from importlib import resources
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from tests.faults.matrix import BY_ID, Fault
from tests.servers.idle_relay import idle_relay
from tests.servers.soketi import Soketi, start_soketi
from wsdiag.cli import cli

pytestmark = pytest.mark.soketi
SCHEMA = json.loads(resources.files("wsdiag").joinpath("schema/soak-v1.json").read_text())


def soak(url: str, server: Soketi, *args: str) -> tuple[int, dict[str, Any]]:
    clean = {k: None for k in os.environ if k.startswith(("PUSHER_", "WSDIAG_", "GITHUB_"))}
    argv = ["soak", url, "--key", server.key, "--json", "--timeout", "1", *args]
    result = CliRunner().invoke(cli, argv, env=clean)
    document = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert server.secret not in result.output
    return result.exit_code, document


def check_fault(fault: Fault, code: int, document: dict[str, Any]) -> None:
    assert code == fault.exit_code == document["exit_code"]
    assert document["kind"] == str(fault.kind)
    assert document["status"] == fault.status
    assert document["cause"] and document["fix"]


@pytest.mark.parametrize(
    ("fault_id", "interval"), [("soak.idle_relay", "0.5"), ("soak.idle_relay_slow_pings", "3")]
)
def test_idle_relay(soketi: Soketi, fault_id: str, interval: str) -> None:
    with idle_relay((soketi.host, soketi.port), 2.0) as front:
        code, document = soak(front.ws_url, soketi, "--duration", "3.5", "--interval", interval)
    check_fault(BY_ID[fault_id], code, document)
    assert 1.8 <= document["idle_timeout_s"] <= 2.6


def test_auth_kick() -> None:
    """soketi with user authentication on, its real 30 s timeout: every connection kicked."""
    with start_soketi(SOKETI_DEFAULT_APP_USER_AUTHENTICATION="true") as server:
        started = time.monotonic()
        code, document = soak(server.ws_url, server, "--duration", "40")
    assert time.monotonic() - started < 36  # ended with the kick, not the duration
    check_fault(BY_ID["soak.auth_kick"], code, document)
    assert len(document["connections"]) == 3, document
    for connection in document["connections"]:
        assert connection["close_code"] == 4009
        assert 29 <= connection["lived_s"] <= 32
    assert "sign in" in document["fix"]
    assert document["idle_timeout_s"] is None
