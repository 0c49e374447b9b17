"""Real SOCKS proxies for the tests, from Debian: microsocks (SOCKS5, optionally with
username/password) and Dante's danted (SOCKS5 and SOCKS4, with a rule that blocks a port).

Neither can listen on port 0 and report its port, so a free port is picked
and handed to it; if another process takes it first the server exits and a
fresh port is tried (the race costs a retry, not a test).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.soketi import free_port


def require_microsocks() -> str:
    return _require("microsocks")


def _require(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin")
    if path is None:
        message = f"{name} is not installed: run scripts/testbed/install"
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


@contextlib.contextmanager
def dante_proxy(workdir: Path, *, blocked_port: int) -> Iterator[int]:
    """danted on a free loopback port, SOCKS5 and SOCKS4 without authentication; a rule
    refuses connections to ``blocked_port`` (SOCKS5 reply 2, SOCKS4 reply 91)."""
    binary = _require("danted")
    for attempt in range(5):
        port = free_port()
        config = workdir / f"danted-{port}.conf"
        config.write_text(
            f"logoutput: {workdir / f'danted-{port}.log'}\n"
            f"internal: 127.0.0.1 port = {port}\nexternal: 127.0.0.1\n"
            "socksmethod: none\nclientmethod: none\n"
            "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 }\n"
            f"socks block {{ from: 0.0.0.0/0 to: 0.0.0.0/0 port = {blocked_port} }}\n"
            "socks pass { from: 0.0.0.0/0 to: 0.0.0.0/0 }\n"
        )
        # Its own session: danted forks its worker processes, and the group is stopped whole.
        process = subprocess.Popen(
            [binary, "-f", str(config), "-p", str(workdir / f"danted-{port}.pid"), "-N", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            if not _listening(port, process):
                if attempt == 4:
                    raise RuntimeError(f"danted could not listen on port {port}")
                continue
            yield port
            return
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
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
