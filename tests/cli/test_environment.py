"""The injectable Environment: variables and stdin reach every setting without monkeypatching."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from wsdiag.cli import main
from wsdiag.environment import Environment


def run(
    args: list[str], env: Environment, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args, env)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_settings_come_from_the_injected_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = Environment(environ={"PUSHER_APP_CLUSTER": "eu", "HOME": str(tmp_path)})
    code, out, _ = run(["config", "show"], env, capsys)
    assert code == 0
    target = next(line for line in out.splitlines() if line.startswith("target"))
    assert "eu" in target and "environment PUSHER_APP_CLUSTER" in target
    assert "PUSHER_APP_CLUSTER" not in os.environ  # nothing leaked into the process


def test_the_proxy_comes_from_the_injected_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = Environment(environ={"HTTPS_PROXY": "http://127.0.0.1:9", "HOME": str(tmp_path)})
    code, out, _ = run(["reach", "ws://127.0.0.1:6001", "--json", "--timeout", "1"], env, capsys)
    assert code == 1
    (reach,) = [r for r in json.loads(out)["results"] if r["stage"] == "reach"]
    assert reach["subject"].endswith("via proxy"), reach
    assert reach["kind"] == "tcp_refused" and "proxy" in reach["cause"]


def test_publish_reads_data_from_the_injected_stdin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A payload over Pusher's 10 KB, piped in: refused before anything is sent."""
    env = Environment(environ={"HOME": str(tmp_path)}, stdin=io.StringIO("x" * 20_000))
    args = ["publish", "ws://127.0.0.1:9", "news", "tick", "--app-id", "1", "--key", "k"]
    code, _, err = run([*args, "--secret", "s"], env, capsys)
    assert code == 2
    assert "nothing was sent" in err and "10" in err
