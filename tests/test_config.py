"""Profiles: precedence flags > --env-file > environment > profile, masking, file modes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.faults.harness import Outcome, run_wsdiag
from tests.servers.http_api import ApiReply, http_api
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


# ---------------------------------------------------------------- config add: merge, keep, check
# Through the real entry point (python -m wsdiag), HOME in a temporary directory.

HAND_WRITTEN = """\
# my profiles — edited by hand
[profiles.staging]  # the EU app
target = "eu"
app_id = 123456     # numeric on purpose
key = "oldkey"
# rotated every quarter
secret = "old-secret"

[profiles.local]
target = "ws://127.0.0.1:6001"
port = 6001

[extras]
note = 'kept "as is"'
"""


def wsdiag(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Outcome:
    return run_wsdiag(*args, home=tmp_path, env=env)


@pytest.fixture
def hand_written(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(HAND_WRITTEN)
    path.chmod(0o644)
    return path


def test_add_merges_and_keeps_comments_order_and_types(hand_written: Path, tmp_path: Path) -> None:
    outcome = wsdiag(
        tmp_path,
        *("config", "add", "staging", "--config", str(hand_written)),
        *("--key", "newkey", "--app-id", "654321", "--auth-endpoint", "https://app.test/auth"),
    )
    assert outcome.exit_code == 0, outcome.describe()
    expected = (
        HAND_WRITTEN.replace('key = "oldkey"', 'key = "newkey"')
        .replace("app_id = 123456 ", "app_id = 654321 ")
        .replace(
            'secret = "old-secret"\n',
            'secret = "old-secret"\nauth_endpoint = "https://app.test/auth"\n',
        )
    )
    assert hand_written.read_text() == expected
    assert stat.S_IMODE(hand_written.stat().st_mode) == 0o600
    assert "updated" in outcome.stdout and "kept target, secret" in outcome.stdout
    assert "old-secret" not in outcome.stdout + outcome.stderr


def test_add_replace_starts_the_profile_afresh(hand_written: Path, tmp_path: Path) -> None:
    args = ("config", "add", "staging", "--config", str(hand_written), "--target", "us2")
    outcome = wsdiag(tmp_path, *args, "--replace")
    assert outcome.exit_code == 0, outcome.describe()
    staging = load_profile(hand_written, "staging", required=True).values
    assert staging == {"target": "us2"}
    assert "removed app_id, key, secret" in outcome.stdout
    text = hand_written.read_text()
    assert text.startswith("# my profiles — edited by hand\n[profiles.staging]  # the EU app\n")
    assert text.endswith(HAND_WRITTEN[HAND_WRITTEN.index("\n[profiles.local]") :])


def test_a_new_value_for_a_number_stays_a_number_only_when_it_is_one(
    hand_written: Path, tmp_path: Path
) -> None:
    wsdiag(tmp_path, "config", "add", "local", "--config", str(hand_written), "--app-id", "7")
    assert 'app_id = "7"' in hand_written.read_text()  # new key: a string, as always
    wsdiag(tmp_path, "config", "add", "staging", "--config", str(hand_written), "--app-id", "x1")
    assert 'app_id = "x1"     # numeric on purpose' in hand_written.read_text()


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--target", "wss://", "has no host"),
        ("--target", "not a cluster!", "neither a cluster name"),
        ("--auth-endpoint", "app.test/auth", "not an http:// or https:// URL"),
        ("--encryption-master-key", "c2hvcnQ=", "32 bytes"),
        ("--key", "two\nlines", "control characters"),
    ],
)
def test_a_bad_value_is_a_usage_error_and_the_file_is_untouched(
    hand_written: Path, tmp_path: Path, option: str, value: str, says: str
) -> None:
    before = hand_written.stat()
    args = ("config", "add", "staging", "--config", str(hand_written), option, value)
    outcome = wsdiag(tmp_path, *args, "--secret", "new-secret")
    assert outcome.exit_code == 2, outcome.describe()
    assert says in outcome.stderr and "nothing was written" in outcome.stderr
    after = hand_written.stat()
    assert hand_written.read_text() == HAND_WRITTEN
    assert (after.st_ino, after.st_mtime_ns, after.st_mode) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_mode,
    )
    missing = tmp_path / "new" / "config.toml"
    outcome = wsdiag(tmp_path, "config", "add", "x", "--config", str(missing), option, value)
    assert outcome.exit_code == 2 and not missing.parent.exists()


def test_a_file_that_is_not_toml_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[profiles.staging\ntarget = 'eu'\n")
    outcome = wsdiag(tmp_path, "config", "add", "staging", "--config", str(path), "--key", "k")
    assert outcome.exit_code == 2, outcome.describe()
    assert "not valid TOML" in outcome.stderr
    assert path.read_text() == "[profiles.staging\ntarget = 'eu'\n"


def test_the_file_is_replaced_in_one_step(hand_written: Path, tmp_path: Path) -> None:
    """A new inode renamed over the old (readers never see half a file), private at once."""
    link = tmp_path / "link.toml"
    link.symlink_to(hand_written)
    inode = hand_written.stat().st_ino
    outcome = wsdiag(tmp_path, "config", "add", "staging", "--config", str(link), "--key", "k2")
    assert outcome.exit_code == 0, outcome.describe()
    assert link.is_symlink()  # a dotfiles-managed link stays a link; its target is edited
    assert hand_written.stat().st_ino != inode
    assert stat.S_IMODE(hand_written.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    assert load_profile(link, "staging", required=True).values["key"] == "k2"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    hand_written: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_profile(hand_written, "staging", {"key": "k3"})
    assert hand_written.read_text() == HAND_WRITTEN
    assert [p.name for p in hand_written.parent.iterdir()] == ["config.toml"]


def test_a_new_file_is_private_and_says_what_it_is(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "config.toml"
    outcome = wsdiag(tmp_path, "config", "add", "a b", "--config", str(path), "--target", "mt1")
    assert outcome.exit_code == 0, outcome.describe()
    assert "created" in outcome.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("# wsdiag profiles")
    assert load_profile(path, "a b", required=True).values == {"target": "mt1"}


# ---------------------------------------------------------------- config show --json


def test_show_json_is_the_settings_with_their_sources(config_file: Path, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PUSHER_APP_ID=77\n")
    outcome = wsdiag(
        tmp_path,
        *("config", "show", "--json", "--config", str(config_file), "--profile", "staging"),
        *("--env-file", str(env_file), "--key", "flagkey"),
        env={"PUSHER_APP_CLUSTER": "us2"},
    )
    assert outcome.exit_code == 0, outcome.describe()
    document = json.loads(outcome.stdout)
    assert document["profile"] == {"name": "staging", "path": str(config_file)}
    assert document["config_file"] == str(config_file)
    # PUSHER_APP_CLUSTER in the environment names a target: it wins over the profile's eu
    assert document["target"] == {
        "value": "us2",
        "source": "environment PUSHER_APP_CLUSTER",
        "error": None,
    }
    settings = document["settings"]
    assert settings["key"] == {"value": "flagkey", "source": "flag --key"}
    assert settings["app_id"] == {"value": "77", "source": f"env file {env_file}"}
    assert settings["secret"]["value"] == "pro…" and SECRET not in outcome.stdout
    assert settings["host"] == {"value": None, "source": "not set"}


def test_show_json_says_why_a_named_target_is_unusable(tmp_path: Path) -> None:
    outcome = wsdiag(
        tmp_path, "config", "show", "--json", env={"PUSHER_HOST": "h", "PUSHER_PORT": "x"}
    )
    target = json.loads(outcome.stdout)["target"]
    assert target["value"] is None and "PUSHER_PORT='x' is not a port number" in target["error"]
    unset = json.loads(wsdiag(tmp_path, "config", "show", "--json").stdout)["target"]
    assert unset == {"value": None, "source": "not set", "error": None}


def test_show_names_what_a_command_then_uses(config_file: Path, tmp_path: Path) -> None:
    """Target, app id, key and secret from four places: config show and a real API call agree."""
    env_file = tmp_path / ".env"
    env_file.write_text("PUSHER_APP_ID=4242\n")
    with http_api(ApiReply(200, '{"channels": {}}')) as api:
        env = {"PUSHER_HOST": "127.0.0.1", "PUSHER_PORT": str(api.port), "PUSHER_SCHEME": "http"}
        common = ("--config", str(config_file), "--profile", "staging", "--env-file", str(env_file))
        shown = json.loads(wsdiag(tmp_path, "config", "show", "--json", *common, env=env).stdout)
        used = wsdiag(tmp_path, "channels", "-", *common, "--json", env=env)
    assert used.exit_code == 0, used.describe()
    report = used.report()
    settings = shown["settings"]
    assert shown["target"]["value"] == report["target"] == f"ws://127.0.0.1:{api.port}"
    assert (settings["app_id"]["value"], settings["key"]["value"]) == ("4242", "profkey")
    ((method, path),) = api.requests
    assert method == "GET"
    assert path.startswith("/apps/4242/channels?") and "auth_key=profkey" in path
    assert report["results"][0]["details"]["secret"] == settings["secret"]["value"] == "pro…"
