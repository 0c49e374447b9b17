"""``wsdiag env-lint`` with real .env files, its schemes checked against real servers."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import trustme

from tests.faults.harness import Outcome, run_wsdiag
from tests.servers.relay import relay_on
from tests.servers.soketi import Soketi
from tests.servers.tls import make_context
from wsdiag.envlint import lint
from wsdiag.models import ErrorKind, Status

pytestmark = pytest.mark.soketi
SCHEMA = json.loads(resources.files("wsdiag").joinpath("schema/env-lint-v1.json").read_text())


def env_lint(tmp_path: Path, text: str, *extra: str) -> tuple[Outcome, dict[str, object]]:
    path = tmp_path / ".env"
    path.write_text(text)
    outcome = run_wsdiag("env-lint", "--env-file", str(path), "--json", *extra, home=tmp_path)
    assert "Traceback" not in outcome.stderr, outcome.describe()
    document = json.loads(outcome.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["exit_code"] == outcome.exit_code
    return outcome, document


def kinds(document: dict[str, object]) -> dict[str, str]:
    findings = document["findings"]
    assert isinstance(findings, list)
    return {str(f["kind"]): str(f["status"]) for f in findings if f["kind"]}


def test_a_consistent_reverb_env_behind_a_tls_proxy(soketi: Soketi, tmp_path: Path) -> None:
    outcome, document = env_lint(
        tmp_path,
        "BROADCAST_CONNECTION=reverb\n"
        f"REVERB_APP_KEY={soketi.key}\n"
        f"REVERB_HOST=127.0.0.1\nREVERB_PORT={soketi.port}\nREVERB_SCHEME=http\n"
        f"REVERB_SERVER_PORT={soketi.port}\n"
        'VITE_REVERB_APP_KEY="${REVERB_APP_KEY}"\n'
        "VITE_REVERB_HOST=ws.example.invalid\nVITE_REVERB_PORT=443\nVITE_REVERB_SCHEME=https\n",
    )
    assert outcome.exit_code == 0, outcome.describe()
    summaries = [f["summary"] for f in document["findings"]]  # type: ignore[union-attr]
    assert "one app key (REVERB_APP_KEY, VITE_REVERB_APP_KEY)" in summaries
    assert any("a TLS proxy in front of the server, as usual" in s for s in summaries)
    assert f"REVERB_HOST/PORT/SCHEME: http matches what 127.0.0.1:{soketi.port} speaks" in summaries
    assert "env_mismatch" not in kinds(document)


def test_http_to_a_tls_port(soketi: Soketi, tmp_path: Path) -> None:
    ca = trustme.CA()
    upstream = (soketi.host, soketi.port)
    with relay_on(["127.0.0.1"], upstream, context=make_context(ca, "127.0.0.1")) as port:
        outcome, document = env_lint(
            tmp_path, f"PUSHER_HOST=127.0.0.1\nPUSHER_PORT={port}\nPUSHER_SCHEME=http\n"
        )
        unchecked, quiet = env_lint(
            tmp_path, f"PUSHER_HOST=127.0.0.1\nPUSHER_PORT={port}\nPUSHER_SCHEME=http\n",
            "--no-probe",
        )  # fmt: skip
    assert outcome.exit_code == 1
    assert kinds(document)["ws_plain_to_tls_port"] == "fail"
    assert unchecked.exit_code == 0 and "ws_plain_to_tls_port" not in kinds(quiet)


def test_check_notes_what_env_lint_finds(soketi: Soketi, tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text(f"PUSHER_APP_KEY={soketi.key}\nVITE_PUSHER_APP_KEY=stale-key\n")
    outcome = run_wsdiag("check", soketi.ws_url, "--env-file", str(path), "-q", home=tmp_path)
    assert f"note: {path}: the app key differs between variables" in outcome.stderr


def test_localhost_and_ports_judged_without_a_network() -> None:
    values = {"REVERB_HOST": "localhost", "REVERB_PORT": "8080", "REVERB_SERVER_PORT": "8080"}
    assert all(f.kind is not ErrorKind.ENV_LOCALHOST for f in lint(values, in_container=False))
    flagged = [f for f in lint(values, in_container=True) if f.kind is ErrorKind.ENV_LOCALHOST]
    assert flagged and flagged[0].status is Status.WARN
    elsewhere = {**values, "REVERB_PORT": "6001"}
    port = [f for f in lint(elsewhere, in_container=False) if f.kind is ErrorKind.ENV_MISMATCH]
    assert port and "binds port 8080" in port[0].summary


def test_the_broadcaster_setting_picks_the_family() -> None:
    values = {
        "BROADCAST_CONNECTION": "pusher",
        "PUSHER_APP_KEY": "live",
        "VITE_PUSHER_APP_KEY": "stale",
        "REVERB_APP_KEY": "old",
        "REVERB_HOST": "127.0.0.1",
    }
    findings = lint(values, in_container=False)
    mismatch = next(f for f in findings if f.kind is ErrorKind.ENV_MISMATCH)
    assert "PUSHER_APP_KEY=live, VITE_PUSHER_APP_KEY=stale" in str(mismatch.cause)


def test_a_port_out_of_range_is_no_port() -> None:
    findings = lint({"PUSHER_HOST": "127.0.0.1", "PUSHER_PORT": "80800", "PUSHER_SCHEME": "http"},
                    probe=lambda host, port: "plain", in_container=False)  # fmt: skip
    assert all("80800" not in f.summary for f in findings)
