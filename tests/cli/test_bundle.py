"""``wsdiag bundle`` through the real entry point against soketi: what the zip holds."""

from __future__ import annotations

import json
import zipfile
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.faults.harness import credentials, run_wsdiag
from tests.servers.relay import refused_port
from tests.servers.soketi import Soketi
from wsdiag.bundle import CONTENTS

SCHEMA = json.loads(resources.files("wsdiag").joinpath("schema/report-v2.json").read_text())


def unzip(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as opened:
        return {
            name.removeprefix("wsdiag-report/"): opened.read(name).decode()
            for name in opened.namelist()
        }


@pytest.mark.soketi
def test_the_bundle_holds_the_check_and_the_machine(soketi: Soketi, tmp_path: Path) -> None:
    output = tmp_path / "support.zip"
    outcome = run_wsdiag(
        "bundle", soketi.ws_url, *credentials(soketi), "-o", str(output), "--events", "2",
        "--timeout", "3", home=tmp_path,
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.describe()
    assert outcome.stdout.startswith(f"wrote {output} (10 files): WARN: {soketi.ws_url}")
    files = unzip(output)
    assert set(files) == {"README.txt", *CONTENTS}
    report = json.loads(files["check.json"])
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert [r["stage"] for r in report["results"] if r["stage"] == "delivery"] == ["delivery"]
    assert "events flow end to end" in files["check.txt"]
    assert "pusher:connection_established" in files["trace.txt"]  # the protocol trace
    assert "auth_signature=" in files["trace.txt"]  # the API calls, their signatures masked
    assert files["versions.txt"].startswith("wsdiag ")
    assert "openssl OpenSSL" in files["versions.txt"]
    assert "flag --secret" in files["settings.txt"]  # each setting with its source
    assert "the check used: no proxy" in files["proxy.txt"]
    assert "/etc/resolv.conf" in files["dns.txt"]
    assert "$ ip route" in files["routes.txt"]
    assert "trusted CAs: certifi" in files["trust.txt"]
    assert (
        "made by: wsdiag bundle --app-id --key --secret -o --events --timeout"
        in files["README.txt"]
    )


def test_a_failing_check_still_makes_its_bundle(tmp_path: Path) -> None:
    output = tmp_path / "support.zip"
    with refused_port() as port:
        outcome = run_wsdiag(
            "bundle", f"ws://127.0.0.1:{port}", "--key", "k", "-o", str(output), home=tmp_path
        )
    assert outcome.exit_code == 1, outcome.describe()
    assert "FAIL: " in outcome.stdout
    assert json.loads(unzip(output)["check.json"])["first_failure"] is not None


def test_an_unwritable_output_is_refused_before_anything_runs(tmp_path: Path) -> None:
    outcome = run_wsdiag("bundle", "mt1", "-o", str(tmp_path / "missing" / "b.zip"), home=tmp_path)
    assert outcome.exit_code == 2
    assert "does not exist" in outcome.stderr
    assert "checking" not in outcome.stderr
