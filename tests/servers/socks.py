"""A real SOCKS5 proxy for the tests: Debian's microsocks, optionally with username/password.

microsocks cannot listen on port 0 and report its port, so a free port is
picked and handed to it; if another process takes it first microsocks exits
and a fresh port is tried (the race costs a retry, not a test).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.servers.soketi import free_port


def require_microsocks() -> str:
    path = shutil.which("microsocks")
    if path is None:
        message = "microsocks is not installed: run scripts/testbed/install"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@contextlib.contextmanager
def socks_proxy(auth: tuple[str, str] | None = None) -> Iterator[int]:
    """microsocks on a free loopback port; ``auth``: (user, password) it requires."""
    binary = require_microsocks()
    extra = ["-u", auth[0], "-P", auth[1]] if auth else []
    for attempt in range(5):
        port = free_port()
        process = subprocess.Popen(
            [binary, "-i", "127.0.0.1", "-p", str(port), *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            if not _listening(port, process):
                if attempt == 4:
                    raise RuntimeError(f"microsocks could not listen on port {port}")
                continue
            yield port
            return
        finally:
            process.kill()
            process.wait(timeout=5)


def _listening(port: int, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            time.sleep(0.05)  # something answered: it is microsocks only if microsocks still runs
            return process.poll() is None
        time.sleep(0.05)
    return False
