"""Profiles: precedence flags > --env-file > environment > profile, masking, file modes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from wsdiag.cli import cli
from wsdiag.config import ConfigError, load_profile, write_profile

SECRET = "profile-secret-4f1e9a"


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "wsdiag" / "config.toml"
    write_profile(
        path, "staging", {"target": "eu", "app_id": "42", "key": "profkey", "secret": SECRET}
    )
    return path


def run(args: list[str], env: dict[str, str] | None = None):
    clean = {k: None for k in os.environ if k.startswith(("PUSHER_", "WSDIAG_"))}
    return CliRunner().invoke(cli, args, env={**clean, **(env or {})})


def test_written_private_and_read_back(config_file: Path) -> None:
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    profile = load_profile(config_file, "staging", required=True)
    assert profile.values == {"target": "eu", "app_id": "42", "key": "profkey", "secret": SECRET}
    assert profile.warnings == ()


def test_world_readable_secret_warns(config_file: Path) -> None:
    config_file.chmod(0o644)
    profile = load_profile(config_file, "staging", required=True)
    assert "chmod 600" in profile.warnings[0]


def test_show_masks_secret_and_names_sources(config_file: Path, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PUSHER_APP_ID=77\nPUSHER_APP_KEY='filekey'\nOTHER=x\n")
    result = run(
        [
            "config",
            "show",
            "--config",
            str(config_file),
            "--profile",
            "staging",
            "--env-file",
            str(env_file),
        ],
        env={"PUSHER_APP_KEY": "envkey"},
    )
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    # The env file named on the command line wins over the shell's environment (issue 9).
    assert "filekey" in lines["key"] and "env file" in lines["key"]
    assert "77" in lines["app_id"] and "env file" in lines["app_id"]
    assert "pro…" in lines["secret"] and "profile staging" in lines["secret"]
    assert SECRET not in result.output


def test_environment_wins_over_the_profile(config_file: Path) -> None:
    result = run(
        ["config", "show", "--config", str(config_file), "--profile", "staging"],
        env={"PUSHER_APP_KEY": "envkey"},
    )
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert "envkey" in lines["key"] and "environment PUSHER_APP_KEY" in lines["key"]


def test_show_names_the_target_check_uses(config_file: Path, tmp_path: Path) -> None:
    """The profile says eu, but PUSHER_HOST in the environment names a server: every
    command uses the server, so config show must say so (it used to print eu)."""
    env = {"PUSHER_HOST": "127.0.0.1", "PUSHER_PORT": "9", "PUSHER_SCHEME": "http"}
    common = ["--config", str(config_file), "--profile", "staging"]
    shown = run(["config", "show", *common], env=env)
    target_line = next(line for line in shown.output.splitlines() if line.startswith("target"))
    assert "ws://127.0.0.1:9" in target_line and "environment PUSHER_HOST" in target_line
    checked = run(["reach", *common, "--json", "--timeout", "1"], env=env)
    assert json.loads(checked.output)["target"] == "ws://127.0.0.1:9", checked.output


def test_flag_wins(config_file: Path) -> None:
    result = run(
        [
            "config",
            "show",
            "--config",
            str(config_file),
            "--profile",
            "staging",
            "--key",
            "flagkey",
        ],
        env={"PUSHER_APP_KEY": "envkey"},
    )
    assert "flagkey" in result.output and " flag" in result.output


def test_unknown_profile_is_a_usage_error(config_file: Path) -> None:
    result = run(["config", "show", "--config", str(config_file), "--profile", "nope"])
    assert result.exit_code == 2
    assert "no profile 'nope'" in result.output and "staging" in result.output


def test_bad_toml_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[profiles.x\n")
    result = run(["check", "--config", str(path), "--profile", "x"])
    assert result.exit_code == 2
    assert "not valid TOML" in result.output


def test_unknown_keys_rejected(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[profiles.x]\ntarget = "mt1"\npasword = "typo"\n')
    with pytest.raises(ConfigError, match="unknown keys"):
        load_profile(path, "x", required=True)


def test_write_keeps_other_profiles_and_tightens_mode(config_file: Path) -> None:
    config_file.chmod(0o644)
    write_profile(config_file, "local", {"target": "ws://127.0.0.1:6001", "key": 'with "quote"'})
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert load_profile(config_file, "staging", required=True).values["secret"] == SECRET
    assert load_profile(config_file, "local", required=True).values["key"] == 'with "quote"'
