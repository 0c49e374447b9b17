"""--help, --version and completion stay light: completion re-runs wsdiag on every TAB."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = {"rich", "dns", "websocket", "certifi"}

# Runs wsdiag's entry point in a fresh interpreter, then reports which top-level
# modules got imported; the entry point is what both the console script and
# shell completion execute.
PROBE = """
import sys
from wsdiag.cli import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print('LOADED=' + ','.join(sorted(sys.modules)), file=sys.stderr)
sys.exit(code)
"""


def run_probe_modules(
    *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """The probe's process, and the full name of every module it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **(env or {})},
    )
    line = next(x for x in proc.stderr.splitlines() if x.startswith("LOADED="))
    return proc, set(line.removeprefix("LOADED=").split(","))


def run_probe(
    *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """The probe's process, and the top-level packages it imported."""
    proc, modules = run_probe_modules(*args, env=env)
    return proc, {name.split(".")[0] for name in modules}


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["check", "--help"], ["tls", "-h"]])
def test_help_and_version_stay_light(args: list[str]) -> None:
    proc, loaded = run_probe(*args)
    assert proc.returncode == 0, proc.stderr
    assert not loaded & HEAVY
    assert "click" in loaded  # the probe does see imports


def test_version_output() -> None:
    from wsdiag import __version__

    proc, _ = run_probe("--version")
    assert proc.stdout.strip() == f"wsdiag, version {__version__}"


def test_completion_stays_light_and_completes_commands() -> None:
    env = {"_WSDIAG_COMPLETE": "bash_complete", "COMP_WORDS": "wsdiag ch", "COMP_CWORD": "1"}
    proc, loaded = run_probe(env=env)
    assert "plain,check" in proc.stdout
    assert not loaded & HEAVY
