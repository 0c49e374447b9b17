"""--help, --version and shell completion must not import the heavy libraries (they run on every TAB)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

HEAVY = ("rich", "dns", "websocket", "certifi")

PROBE = """
import sys
from wsdiag.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(%r))
print('HEAVY=' + ','.join(heavy), file=sys.stderr)
sys.exit(code)
""" % (HEAVY,)


def run_probe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True, text=True, timeout=30, env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["check", "--help"], ["tls", "-h"]])
def test_help_and_version_stay_light(args: list[str]) -> None:
    proc = run_probe(*args)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY=\n" in proc.stderr or proc.stderr.rstrip().endswith("HEAVY=")


def test_version_output() -> None:
    from wsdiag import __version__

    proc = run_probe("--version")
    assert proc.stdout.strip() == f"wsdiag, version {__version__}"


def test_completion_stays_light_and_completes_commands() -> None:
    env = {"_WSDIAG_COMPLETE": "bash_complete", "COMP_WORDS": "wsdiag ch", "COMP_CWORD": "1"}
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys\nfrom wsdiag.cli import cli\ntry:\n    cli.main(prog_name='wsdiag')\n"
         "except SystemExit:\n    pass\n"
         "print('HEAVY=' + ','.join(sorted({m.split('.')[0] for m in sys.modules} & set(%r))),"
         " file=sys.stderr)" % (HEAVY,)],
        capture_output=True, text=True, timeout=30, env={**os.environ, **env},
    )
    assert "plain,check" in proc.stdout
    assert proc.stderr.rstrip().endswith("HEAVY=")
