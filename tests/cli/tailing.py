"""``wsdiag tail`` run as a user runs it, for tests that publish while it listens."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers.soketi import Soketi

ROOT = Path(__file__).resolve().parents[2]


def clean_env() -> dict[str, str]:
    """This environment without the user's PUSHER_/WSDIAG_ settings, wsdiag importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHER_", "WSDIAG_"))}
    return {**env, "PYTHONPATH": str(ROOT), "COLUMNS": "160"}


@contextmanager
def tail_process(
    server: Soketi, channels: list[str], *args: str
) -> Iterator[subprocess.Popen[str]]:
    """``wsdiag tail --json`` on ``channels``; yields once every channel is subscribed.

    ``args`` carries everything else, credentials included.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "wsdiag", "tail", server.ws_url, *channels, *args, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
        cwd=ROOT,
    )
    assert proc.stderr is not None
    subscribed: set[str] = set()
    deadline = time.monotonic() + 15
    while subscribed != set(channels) and time.monotonic() < deadline:
        line = proc.stderr.readline()
        if " subscribed " in line:
            subscribed.add(line.split(" subscribed ", 1)[1].split(":", 1)[0])
        if not line and proc.poll() is not None:
            break
    try:
        assert subscribed == set(channels), "tail did not subscribe"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
