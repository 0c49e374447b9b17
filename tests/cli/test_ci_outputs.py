"""Markdown reports and the GitHub Action's step, through the real entry points, against soketi.

The Action's step is ``scripts/github-action.sh`` (action.yml runs it), so it runs
here as GitHub would run it: inputs as environment variables, GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY files, GITHUB_ACTIONS=true.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.harness import run_wsdiag, user_environment
from tests.servers.relay import refused_port
from tests.servers.soketi import Soketi

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
STEP = ROOT / "scripts" / "github-action.sh"
pytestmark = pytest.mark.soketi


def test_markdown_on_stdout_and_beside_json(soketi: Soketi, tmp_path: Path) -> None:
    args = ("check", soketi.ws_url, "--key", soketi.key, "--enabled-transports", "ws,wss")
    markdown = run_wsdiag(*args, "--format", "markdown", home=tmp_path)
    assert markdown.exit_code == 0, markdown.describe()
    lines = markdown.stdout.splitlines()
    assert lines[0] == f"### ✅ wsdiag check `{soketi.ws_url}`: OK"
    assert "| stage | subject | status | ms | result |" in lines
    assert any(line.startswith("| websocket | ") and "✅ ok" in line for line in lines)
    assert "```js" in lines  # the configuration that works, collapsed
    side = tmp_path / "summary.md"
    both = run_wsdiag(*args, "--json", "--markdown", str(side), home=tmp_path)
    assert both.report()["status"] == "ok"  # stdout is still one JSON document
    assert side.read_text().startswith("### ✅ wsdiag check")


def test_a_failure_in_markdown_names_cause_and_fix(tmp_path: Path) -> None:
    with refused_port() as port:
        outcome = run_wsdiag(
            "check", f"ws://127.0.0.1:{port}", "--key", "k", "--format", "markdown", home=tmp_path
        )
    assert outcome.exit_code == 1
    assert outcome.stdout.startswith("### ❌ wsdiag check")
    assert "**First failure: reach 127.0.0.1:" in outcome.stdout
    assert "- cause: " in outcome.stdout and "- fix: " in outcome.stdout
    for line in outcome.stdout.splitlines():
        if line.startswith("| "):  # a row keeps its five cells whatever a cause says
            assert len(re.findall(r"(?<!\\)\|", line)) == 6, line


@pytest.mark.parametrize(
    "conflict",
    [
        ["--json", "--format", "markdown"],
        ["--format", "markdown", "--junit", "-"],
        ["-q", "--json"],
    ],
)
def test_output_conflicts_are_usage_errors(conflict: list[str], tmp_path: Path) -> None:
    outcome = run_wsdiag("check", "mt1", *conflict, home=tmp_path)
    assert outcome.exit_code == 2, outcome.describe()
    assert "Traceback" not in outcome.stderr


def run_step(
    tmp_path: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    outputs = tmp_path / "github_output"
    outputs.write_text("")
    bin_dir = str(Path(sys.executable).parent)  # where pip put the wsdiag script
    full = {
        **user_environment(tmp_path),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step_summary.md"),
        "RUNNER_TEMP": str(tmp_path),
        "WSDIAG_JUNIT": str(tmp_path / "junit.xml"),
        "WSDIAG_FAIL_ON": "fail",
        "PUSHER_APP_ID": "",
        "PUSHER_APP_SECRET": "",
        **env,
    }
    done = subprocess.run(
        [str(STEP)], env=full, capture_output=True, text=True, timeout=120, check=False
    )
    parsed = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return done, parsed


def test_the_action_step_end_to_end(soketi: Soketi, tmp_path: Path) -> None:
    done, outputs = run_step(
        tmp_path,
        {
            "WSDIAG_TARGET": soketi.ws_url,
            "PUSHER_APP_KEY": soketi.key,
            "PUSHER_APP_ID": soketi.app_id,
            "PUSHER_APP_SECRET": soketi.secret,
            "WSDIAG_ARGS": "--enabled-transports ws,wss --events 2",
        },
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs["exit-code"] == "0"
    assert outputs["verdict"].startswith(f"OK: {soketi.ws_url}: events flow end to end")
    assert Path(outputs["report"]).is_file()
    summary = (tmp_path / "step_summary.md").read_text()
    assert "| delivery |" in summary
    assert (tmp_path / "junit.xml").read_text().startswith("<?xml")
    everything = done.stdout + done.stderr + summary + Path(outputs["report"]).read_text()
    assert soketi.secret not in everything


def test_the_action_step_fails_with_annotations(tmp_path: Path) -> None:
    with refused_port() as port:
        done, outputs = run_step(
            tmp_path, {"WSDIAG_TARGET": f"ws://127.0.0.1:{port}", "PUSHER_APP_KEY": "k"}
        )
    assert done.returncode == 1
    assert outputs["exit-code"] == "1" and outputs["verdict"].startswith("FAIL: ")
    assert "::error title=wsdiag reach [tcp_refused]" in done.stderr
    assert "### ❌ wsdiag check" in (tmp_path / "step_summary.md").read_text()


def test_the_action_declares_what_its_step_reads() -> None:
    action = ACTION.read_text()
    declared = action.split("\ninputs:\n", 1)[1].split("\noutputs:\n", 1)[0]
    inputs = set(re.findall(r"^  ([a-z-]+):\n", declared, re.MULTILINE))
    used = set(re.findall(r"\$\{\{ inputs\.([a-z-]+) \}\}", action))
    assert used == inputs, (used, inputs)  # every input is used, every use is declared
    given = set(re.findall(r"^        ([A-Z_]+): \$\{\{", action, re.MULTILINE))
    read = set(re.findall(r"\$\{?(WSDIAG_[A-Z_]+)", STEP.read_text()))
    assert read <= given, read - given
    assert '"$GITHUB_ACTION_PATH/scripts/github-action.sh"' in action
    for output in ("verdict", "report", "exit-code"):
        assert f"steps.check.outputs.{output}" in action
        assert f'echo "{output}=' in STEP.read_text()
