"""Laravel Reverb's .env names: read as Laravel reads them, against a real server.

soketi stands in for Reverb here (the same protocol and HTTP API); what is
under test is which variable each setting comes from.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.faults.harness import run_wsdiag
from tests.servers.soketi import Soketi
from wsdiag.credentials import read_env_file
from wsdiag.settings import env_names


def reverb_env(soketi: Soketi, path: Path, extra: str = "") -> str:
    path.write_text(
        "BROADCAST_CONNECTION=reverb\n"
        f"REVERB_APP_ID={soketi.app_id}\n"
        f"REVERB_APP_KEY={soketi.key}\n"
        f"REVERB_APP_SECRET={soketi.secret}\n"
        'REVERB_HOST="127.0.0.1"\n'
        f"REVERB_PORT={soketi.port}\n"
        "REVERB_SCHEME=http\n"
        'VITE_REVERB_APP_KEY="${REVERB_APP_KEY}"\n'
        'VITE_REVERB_HOST="${REVERB_HOST}"\n' + extra
    )
    return str(path)


@pytest.mark.soketi
def test_a_reverb_env_file_checks_end_to_end(soketi: Soketi, tmp_path: Path) -> None:
    env_file = reverb_env(soketi, tmp_path / ".env")
    outcome = run_wsdiag(
        "check", "-", "--env-file", env_file, "--events", "2", "--enabled-transports", "ws,wss",
        "--json", home=tmp_path,
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.describe()
    report = outcome.report()
    assert report["target"] == soketi.ws_url
    assert any(r["stage"] == "delivery" and r["status"] == "ok" for r in report["results"])
    shown = run_wsdiag("config", "show", "--env-file", env_file, "--json", home=tmp_path)
    settings = json.loads(shown.stdout)["settings"]
    assert settings["key"]["source"] == f"env file {env_file} (REVERB_APP_KEY)"
    assert settings["secret"]["value"] != soketi.secret  # masked


def test_the_broadcaster_decides_which_names_come_first(tmp_path: Path) -> None:
    both = "PUSHER_APP_KEY=pusher-key\nREVERB_APP_KEY=reverb-key\n"
    for driver, expected in (
        ("reverb", "reverb-key"),
        ("pusher", "pusher-key"),
        ("", "pusher-key"),
    ):
        path = tmp_path / f"{driver or 'none'}.env"
        path.write_text(f"BROADCAST_CONNECTION={driver}\n{both}")
        shown = run_wsdiag("config", "show", "--env-file", str(path), "--json", home=tmp_path)
        assert json.loads(shown.stdout)["settings"]["key"]["value"] == expected, driver
    assert env_names("key", "PUSHER_APP_KEY", {"BROADCAST_DRIVER": "reverb"})[0] == "REVERB_APP_KEY"


def test_references_expand_as_laravel_expands_them(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(
        "REVERB_APP_KEY=abc\n"
        'VITE_REVERB_APP_KEY="${REVERB_APP_KEY}"\n'
        "VITE_PUSHER_APP_KEY='${REVERB_APP_KEY}'\n"  # single quotes: literal
        "MIX_PUSHER_APP_KEY=${NOT_SET}x\n"
    )
    values = read_env_file(str(path))
    assert values["VITE_REVERB_APP_KEY"] == "abc"
    assert values["VITE_PUSHER_APP_KEY"] == "${REVERB_APP_KEY}"
    assert values["MIX_PUSHER_APP_KEY"] == "x"
