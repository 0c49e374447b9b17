"""Notes that change what an answer means are said in every command, format and -q (issue 14).

The hint that an all-digit key looks like the app id is the example: the same
line, ``note: …``, on stderr, whatever the command, and never lost to ``-q``.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from wsdiag.cli import cli

HINT = "note: the key '12345' is all digits: that looks like the app *id*, not the key\n"
CREDENTIALS = ("--app-id", "1", "--key", "12345", "--secret", "s3cret")


@pytest.fixture
def refused() -> Iterator[str]:
    """A loopback URL whose port refuses connections: bound, never listening, held to the end."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"ws://127.0.0.1:{sock.getsockname()[1]}"


def invoke(*args: str) -> Result:
    clean = {k: None for k in os.environ if k.startswith(("PUSHER_", "WSDIAG_", "GITHUB_"))}
    return CliRunner().invoke(cli, [*args, "--timeout", "1"], env={**clean, "COLUMNS": "80"})


@pytest.mark.parametrize(
    "args",
    [
        ("check", "{url}", "--key", "12345"),
        ("check", "{url}", "--key", "12345", "-q"),
        ("check", "{url}", "--key", "12345", "--json"),
        ("connect", "{url}", "--key", "12345", "-q"),
        ("publish", "{url}", "orders", "shipped", "{{}}", *CREDENTIALS, "-q"),
        ("channels", "{url}", *CREDENTIALS, "--json"),
        ("tail", "{url}", "orders", "--key", "12345", "--duration", "1"),
    ],
    ids=lambda args: " ".join(a for a in args if a.startswith("-") or a.isalpha())[:40],
)
def test_the_key_hint_is_the_same_note_on_stderr_in_every_command(
    refused: str, args: tuple[str, ...]
) -> None:
    result = invoke(*(a.format(url=refused) for a in args))
    assert result.exit_code == 1, result.output
    assert result.stderr.count(HINT) == 1, result.stderr
    assert "note:" not in result.stdout


def test_quiet_prints_the_verdict_alone_on_stdout(refused: str) -> None:
    result = invoke("check", refused, "--key", "12345", "-q")
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("FAIL: "), result.stdout
    assert result.stderr == HINT


def test_json_also_lists_the_note(refused: str) -> None:
    result = invoke("check", refused, "--key", "12345", "--json")
    assert json.loads(result.stdout)["notes"] == [HINT.removeprefix("note: ").rstrip("\n")]
