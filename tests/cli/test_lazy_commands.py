"""Commands are built only when one runs (issue 13): `--help`, `--version` and a TAB on a
command name import no command module, and a command still runs and completes in full."""

from __future__ import annotations

import pytest

from tests.test_startup import run_probe_modules
from wsdiag.cli import LAZY_COMMANDS

COMMAND_MODULES = {module for module, _ in LAZY_COMMANDS.values()}


def loaded_by(*args: str, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    proc, modules = run_probe_modules(*args, env=env)
    return proc.stdout, {m for m in modules if m.startswith("wsdiag")}


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_no_command_module_for_help_and_version(args: list[str]) -> None:
    out, loaded = loaded_by(*args)
    assert not loaded & COMMAND_MODULES, sorted(loaded)
    if args == ["--help"]:
        for name, (_, help_text) in LAZY_COMMANDS.items():
            assert name in out and help_text.split()[0] in out


def test_no_command_module_for_a_tab_on_a_command_name() -> None:
    env = {"_WSDIAG_COMPLETE": "bash_complete", "COMP_WORDS": "wsdiag c", "COMP_CWORD": "1"}
    out, loaded = loaded_by(env=env)
    assert not loaded & COMMAND_MODULES, sorted(loaded)
    assert {"plain,check", "plain,config", "plain,connect", "plain,channels"} <= set(out.split())


def test_a_command_loads_only_its_own_module() -> None:
    _, loaded = loaded_by("explain", "4001")
    assert "wsdiag.cli.explain" in loaded
    assert not loaded & (COMMAND_MODULES - {"wsdiag.cli.explain"}), sorted(loaded)
