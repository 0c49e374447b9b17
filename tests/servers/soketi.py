"""soketi, a real Pusher-compatible server, started on a free loopback port.

Installed by ``scripts/testbed/install`` into ``.testbed/``. Without it the
soketi tests skip, except under CI, where a missing server is a failure:
there the install step is part of the test command.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / ".testbed" / "bin" / "soketi"


@dataclass(frozen=True)
class Soketi:
    host: str
    port: int
    app_id: str
    key: str
    secret: str

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def require_launcher() -> None:
    if LAUNCHER.exists():
        return
    message = f"soketi is not installed ({LAUNCHER} missing): run scripts/testbed/install"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def start_soketi(
    key: str = "wsdiag-test-key",
    secret: str = "wsdiag-test-secret",
    app_id: str = "12345",
    **env_overrides: str,
) -> Iterator[Soketi]:
    """A soketi process with one app; stopped (its whole process group) on exit."""
    require_launcher()
    port = free_port()
    env = {
        **os.environ,
        "SOKETI_PORT": str(port),
        "SOKETI_DEFAULT_APP_ID": app_id,
        "SOKETI_DEFAULT_APP_KEY": key,
        "SOKETI_DEFAULT_APP_SECRET": secret,
        "SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES": "true",
        "SOKETI_METRICS_ENABLED": "false",
        **env_overrides,
    }
    log = ROOT / ".testbed" / f"soketi-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(LAUNCHER)], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_ready(port, proc, log)
        yield Soketi("127.0.0.1", port, app_id, key, secret)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"soketi exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as reply:
                if reply.read().strip() == b"OK":
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"soketi did not answer on port {port} within 20 s: {log.read_text()[-2000:]}"
    )
