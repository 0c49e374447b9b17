"""wsdiag explain: every kind, code and status has an answer; unknown input is a usage error."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from wsdiag.cli import cli
from wsdiag.explain import explain, kind_text
from wsdiag.models import ErrorKind


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_error_kind_is_explained(kind: ErrorKind) -> None:
    title, meaning, fix = kind_text(kind)
    assert title and meaning and fix
    found = explain(kind.value)
    assert found is not None and found.topic == f"error kind {kind.value}"


@pytest.mark.parametrize(
    ("topic", "words"),
    [
        ("4001", "cluster"),
        ("1006", "proxy"),
        ("4100", "backoff"),
        ("401", "signature"),
        ("413", "10 KB"),
        ("TCP_FILTERED", "firewall"),
    ],
)
def test_lookups(topic: str, words: str) -> None:
    found = explain(topic)
    assert found is not None
    assert words in f"{found.meaning} {found.fix}"


def test_cli_explain() -> None:
    result = CliRunner().invoke(cli, ["explain", "4004"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "close code 4004: over connection quota"
    assert "fix:" in result.output


@pytest.mark.parametrize("topic", ["99", "70000", "no_such_kind", ""])
def test_cli_unknown_topic_is_a_usage_error(topic: str) -> None:
    result = CliRunner().invoke(cli, ["explain", topic])
    assert result.exit_code == 2
    assert "is not a close code" in result.output
