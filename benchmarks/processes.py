"""How benchmarked commands run: the interpreter, the environment, compiled bytecode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
# No PUSHER_/WSDIAG_ settings from the shell; and bytecode is written and used, as in an
# installed wsdiag (pip compiles it): with PYTHONDONTWRITEBYTECODE set, every run would
# compile wsdiag's modules again and time the compiler.
ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("PUSHER_", "WSDIAG_")) and k != "PYTHONDONTWRITEBYTECODE"
}


def compile_bytecode() -> None:
    """wsdiag's .pyc files, written before anything is timed (the first run would else pay)."""
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "wsdiag")], check=True)
