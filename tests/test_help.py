"""Every command has a summary, 2-4 real examples, and a place in the README."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from wsdiag.cli import LAZY_COMMANDS, cli, load_commands
from wsdiag.docgen import _split_help

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def all_commands() -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in load_commands().items():
        found.append((name, command))
        if isinstance(command, click.Group):
            found += [(f"{name} {sub}", c) for sub, c in command.commands.items()]
    return found


@pytest.mark.parametrize(("name", "command"), all_commands(), ids=str)
def test_help_has_summary_and_examples(name: str, command: click.Command) -> None:
    assert command.get_short_help_str(limit=100).strip()
    _, examples = _split_help(command.help or "")
    assert 1 <= len(examples) <= 4, examples
    assert all(e.startswith("wsdiag ") for e in examples)
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output


@pytest.mark.parametrize("name", sorted(load_commands()))
def test_command_documented_in_readme(name: str) -> None:
    assert f"`wsdiag {name}" in README


def readme_exit_codes() -> dict[int, str]:
    """The rows of the README's "## Exit codes" table only (other tables have `| 0 |` too)."""
    section = README.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section, flags=re.MULTILINE)
    return {int(code): meaning for code, meaning in rows}


def test_readme_exit_codes_match() -> None:
    from wsdiag.exit_codes import ExitCode

    documented = readme_exit_codes()
    assert set(documented) == {int(code) for code in ExitCode}
    assert all(meaning.strip() for meaning in documented.values())


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_the_lazy_help_line_is_the_commands_own(name: str) -> None:
    """`wsdiag --help` lists commands without building them (issue 13): its line for each
    must be what the command says of itself."""
    command = load_commands()[name]
    assert LAZY_COMMANDS[name][1] == command.get_short_help_str(limit=200)
    assert LAZY_COMMANDS[name][0] == command.callback.__module__  # type: ignore[union-attr]
