"""Origins: ``--origin`` is what the upgrade sends, and Reverb's 4009 "Origin not allowed" is named.

The server is the scripted Pusher server enforcing an allow-list as Laravel
Reverb does (the host part of Origin matched against ``allowed_origins``,
wildcards allowed; other origins get pusher:error 4009 and an open socket).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import expect, run_json, run_wsdiag
from tests.servers.pusher_script import Script, established, scripted_server

TIMEOUT = 1.5
REVERB = Script(actions=[established()], allowed_origins=("app.example.com", "*.example.org"))


def origin_sent(server_requests: list[str]) -> str:
    upgrade = next(r for r in server_requests if r.startswith("GET /app/"))
    return next(
        line.split(":", 1)[1].strip()
        for line in upgrade.split("\r\n")
        if line.lower().startswith("origin:")
    )


def test_an_origin_not_allowed(tmp_path: Path) -> None:
    with scripted_server(REVERB) as server:
        outcome = run_json(
            "check", f"ws://127.0.0.1:{server.port}", "--key", "app-key",
            "--origin", "https://evil.example.net", timeout=TIMEOUT, home=tmp_path,
        )  # fmt: skip
        sent = origin_sent(server.requests)
    assert sent == "https://evil.example.net"
    record = expect("origin.not_allowed", outcome, within=TIMEOUT)
    assert "(https://evil.example.net)" in str(record["cause"])
    assert "allowed_origins" in str(record["cause"]) and "evil.example.net" in str(record["fix"])
    assert record["details"]["origin"] == "https://evil.example.net"


@pytest.mark.parametrize("origin", ["https://app.example.com", "http://eu.shop.example.org:8080"])
def test_an_allowed_origin_connects(tmp_path: Path, origin: str) -> None:
    with scripted_server(REVERB) as server:
        outcome = run_wsdiag(
            "connect", f"ws://127.0.0.1:{server.port}", "--key", "app-key", "--origin", origin,
            "--pings", "1", home=tmp_path,
        )  # fmt: skip
        assert origin_sent(server.requests) == origin
    assert outcome.exit_code == 0, outcome.describe()


def test_without_origin_the_targets_own_is_sent_and_said(tmp_path: Path) -> None:
    with scripted_server(REVERB) as server:
        outcome = run_json(
            "check", f"ws://127.0.0.1:{server.port}", "--key", "app-key",
            timeout=TIMEOUT, home=tmp_path,
        )  # fmt: skip
        assert origin_sent(server.requests) == f"http://127.0.0.1:{server.port}"
    record = expect("origin.not_allowed", outcome, within=TIMEOUT)
    assert "--origin https://your.app" in str(record["fix"])


@pytest.mark.parametrize("bad", ["app.example.com", "https://app.example.com/page", "ftp://x"])
def test_a_malformed_origin_is_a_usage_error(tmp_path: Path, bad: str) -> None:
    outcome = run_wsdiag("check", "mt1", "--origin", bad, home=tmp_path)
    assert outcome.exit_code == 2 and "give an origin as a browser sends it" in outcome.stderr
