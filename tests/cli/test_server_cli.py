"""``wsdiag server`` against soketi (default and with user authentication on) and a Reverb-like
scripted server for origins: every capability and limit found by trying."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.faults.harness import credentials, run_wsdiag
from tests.servers.pusher_script import Script, established, scripted_server
from tests.servers.soketi import Soketi, start_soketi

pytestmark = pytest.mark.soketi
SCHEMA = json.loads(resources.files("wsdiag").joinpath("schema/server-v1.json").read_text())


def server(url: str, home: Path, *args: str) -> dict[str, Any]:
    outcome = run_wsdiag("server", url, *args, "--timeout", "3", "--json", home=home)
    assert "Traceback" not in outcome.stderr, outcome.describe()
    document: dict[str, Any] = json.loads(outcome.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["exit_code"] == outcome.exit_code
    return document


def capability(document: dict[str, Any], name: str) -> str:
    return next(c["status"] for c in document["capabilities"] if c["name"] == name)


def limit(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(item for item in document["limits"] if item["name"] == name)


def test_soketi_found_by_trying(soketi: Soketi, tmp_path: Path) -> None:
    document = server(soketi.ws_url, tmp_path, *credentials(soketi))
    assert document["identity"] == "soketi"
    assert document["health"] == {"/": 200, "/ready": 200, "/up": 404}
    for name in ("client events", "cache channels", "batch events", "channel list"):
        assert capability(document, name) == "supported", name
    event = limit(document, "largest event (bytes of data)")
    assert event["bound"] == "found" and 101_000 <= event["value"] <= 102_400  # 100 KB, to 1 %
    assert limit(document, "channels per publish")["value"] == 100
    assert limit(document, "events per batch")["value"] == 10
    member = limit(document, "presence member info (bytes)")
    assert member["bound"] == "found" and 1_900 <= member["value"] <= 2_100  # soketi: 2 KB
    assert capability(document, "subscription_count") in ("supported", "unknown")
    assert limit(document, "presence members")["bound"] == "not measured"
    text = run_wsdiag("server", soketi.ws_url, *credentials(soketi), home=tmp_path).stdout
    assert "events with more data are refused beyond 10" in text
    assert soketi.secret not in text


def test_sign_in_with_user_authentication_on(tmp_path: Path) -> None:
    with start_soketi(SOKETI_DEFAULT_APP_USER_AUTHENTICATION="true") as app:
        document = server(app.ws_url, tmp_path, *credentials(app))
    assert capability(document, "user sign-in") == "supported"


def test_without_credentials_only_what_needs_none(soketi: Soketi, tmp_path: Path) -> None:
    document = server(soketi.ws_url, tmp_path, "--key", soketi.key)
    assert document["identity"] == "soketi" and document["capabilities"] == []
    assert any("no credentials" in e for e in document["evidence"])


def test_origins_allowed_and_refused(tmp_path: Path) -> None:
    reverb = Script(actions=[established()], allowed_origins=("*.example.com",))
    with scripted_server(reverb) as scripted:
        document = server(
            f"ws://127.0.0.1:{scripted.port}", tmp_path, "--key", "app-key",
            "--origins", "https://app.example.com,https://evil.example.net",
        )  # fmt: skip
    assert document["origins"] == {
        "https://app.example.com": "allowed",
        "https://evil.example.net": "refused (4009 Origin not allowed)",
    }


def test_no_server_at_all(tmp_path: Path) -> None:
    from tests.servers.relay import refused_port

    with refused_port() as port:
        outcome = run_wsdiag("server", f"ws://127.0.0.1:{port}", "--key", "k", home=tmp_path)
    assert outcome.exit_code == 1 and "FAIL: no Pusher connection" in outcome.stdout
