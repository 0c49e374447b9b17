"""Shell completion: clusters for TARGET, profiles for --profile, explain topics, option values.

Asked as the shells ask: click's completion entry point with the words typed
so far, in process (``ShellComplete.get_completions``) and, for the start-up
cost, in a fresh interpreter as ``_WSDIAG_COMPLETE=bash_complete`` runs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.shell_completion import ShellComplete

from tests.test_startup import HEAVY, run_probe
from wsdiag.cli import cli
from wsdiag.environment import Environment

CLUSTERS = ["mt1", "us2", "us3", "eu", "ap1", "ap2", "ap3", "ap4", "sa1"]
CONFIG = """\
# a comment
[profiles.staging]
target = "eu"

[profiles.local]
host = "127.0.0.1"
port = "6001"

[profiles.ci]
"""


def complete(line: str, environ: dict[str, str] | None = None) -> list[str]:
    """Completions for ``wsdiag LINE``; the last word (possibly empty) is being typed."""
    *args, incomplete = line.split(" ")
    obj = Environment(environ=environ or {})
    shell = ShellComplete(cli, {"obj": obj}, "wsdiag", "_WSDIAG_COMPLETE")
    return [item.value for item in shell.get_completions(args, incomplete)]


def test_target_is_a_cluster() -> None:
    assert complete("check ") == CLUSTERS
    assert complete("check a") == ["ap1", "ap2", "ap3", "ap4"]
    assert complete("tls e") == ["eu"]


@pytest.mark.parametrize("command", ["tail", "publish", "channels"])
def test_channel_commands_also_take_dash(command: str) -> None:
    assert complete(f"{command} ") == [*CLUSTERS, "-"]
    assert complete(f"{command} s") == ["sa1"]


def test_profiles_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    assert complete(f"check --config {config} --profile ") == ["staging", "local", "ci"]
    assert complete("check --profile s", {"WSDIAG_CONFIG": str(config)}) == ["staging"]
    xdg = tmp_path / "xdg"
    (xdg / "wsdiag").mkdir(parents=True)
    (xdg / "wsdiag" / "config.toml").write_text(CONFIG)
    assert complete("channels - --profile l", {"XDG_CONFIG_HOME": str(xdg)}) == ["local"]


def test_profiles_show_where_they_point(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    shell = ShellComplete(cli, {"obj": Environment()}, "wsdiag", "_WSDIAG_COMPLETE")
    items = shell.get_completions(["check", "--config", str(config), "--profile"], "")
    assert [(i.value, i.help) for i in items] == [
        ("staging", "eu"),
        ("local", "127.0.0.1"),
        ("ci", None),
    ]


@pytest.mark.parametrize("content", [None, "not toml [", "profiles = 3"])
def test_no_profiles_without_a_usable_file(tmp_path: Path, content: str | None) -> None:
    config = tmp_path / "config.toml"
    if content is not None:
        config.write_text(content)
    assert complete(f"check --config {config} --profile ") == []


def test_explain_topics() -> None:
    assert complete("explain 420") == ["4200", "4201", "4202"]
    assert complete("explain 10") == [str(code) for code in range(1000, 1016)]
    assert complete("explain 42") == ["4200", "4201", "4202", "429"]
    assert complete("explain tls_ex") == ["tls_expired", "tls_expires_soon"]
    assert "pusher_4001" in complete("explain pusher_")


def test_info_values_are_a_comma_list() -> None:
    assert complete("channels - --info ") == ["user_count", "subscription_count", "cache"]
    assert complete("channels - --info user_count,") == [
        "user_count,subscription_count",
        "user_count,cache",
    ]
    assert complete("channels - --info user_count,s") == ["user_count,subscription_count"]
    assert complete("publish - --info ") == ["user_count", "subscription_count"]


def test_fail_on_values() -> None:
    assert complete("check --fail-on ") == ["fail", "warn"]
    assert complete("publish - c e --fail-on w") == ["warn"]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("wsdiag explain 429", "plain,429"),
        ("wsdiag check --profile ", ""),
        ("wsdiag check e", "plain,eu"),
    ],
)
def test_completion_stays_light(words: str, expected: str, tmp_path: Path) -> None:
    """Every TAB re-runs wsdiag: completing values must not import rich, dnspython …"""
    env = {
        "_WSDIAG_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split(" ")) - 1),
        "WSDIAG_CONFIG": str(tmp_path / "none.toml"),
    }
    proc, loaded = run_probe(env=env)
    assert proc.stdout.strip() == expected
    assert not loaded & HEAVY
