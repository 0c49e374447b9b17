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
import tempfile
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
    """A soketi process with one app; stopped (its whole process group) on exit.

    soketi binds port 0 and the test reads the port the kernel gave it from the
    process's own listening sockets: picking a free port first and handing its
    number over would race every other server started meanwhile, and uWebSockets
    binds with SO_REUSEPORT, so a second server on that number would not even fail
    but share the connections (issue 14). The metrics server (9601 by default,
    shared the same way) gets port 0 too.
    """
    require_launcher()
    env = {
        **os.environ,
        "SOKETI_PORT": "0",
        "SOKETI_METRICS_SERVER_PORT": "0",
        "SOKETI_DEFAULT_APP_ID": app_id,
        "SOKETI_DEFAULT_APP_KEY": key,
        "SOKETI_DEFAULT_APP_SECRET": secret,
        "SOKETI_DEFAULT_APP_ENABLE_CLIENT_MESSAGES": "true",
        "SOKETI_METRICS_ENABLED": "false",
        **env_overrides,
    }
    with tempfile.NamedTemporaryFile(
        "wb", dir=ROOT / ".testbed", prefix="soketi-", suffix=".log", delete=False
    ) as out:
        log = Path(out.name)
        proc = subprocess.Popen(
            [str(LAUNCHER)], env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        port = _wait_ready(proc, log)
        yield Soketi("127.0.0.1", port, app_id, key, secret)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def listeners(pid: int | None = None) -> list[tuple[int, bool]]:
    """(port, owned by ``pid``) of every listening TCP socket: /proc/net/tcp{,6} entries in
    state 0A (LISTEN), matched against the socket inodes of ``pid``'s descriptors."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir() if pid else ():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A":
                    found.append((int(fields[1].rsplit(":", 1)[1], 16), fields[9] in inodes))
    return found


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process ``pid`` listens on (the launcher execs node: ``pid`` is soketi)."""
    return {port for port, ours in listeners(pid) if ours}


def _wait_ready(proc: subprocess.Popen[bytes], log: Path) -> int:
    """The port of soketi's main server once it answers: both servers answer / with OK,
    only the metrics server answers /usage."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"soketi exited with {proc.returncode}: {log.read_text()[-2000:]}")
        for port in sorted(listening_ports(proc.pid)):
            if _answers(port, "/") == b"OK" and _answers(port, "/usage") is None:
                shared = [p for p, ours in listeners(proc.pid) if p == port and not ours]
                if shared:  # SO_REUSEPORT: another server would take some of the connections
                    raise RuntimeError(f"port {port} is shared with another listener")
                return port
        time.sleep(0.1)
    raise RuntimeError(f"soketi was not ready within 20 s: {log.read_text()[-2000:]}")


def _answers(port: int, path: str) -> bytes | None:
    """The body of a 200 reply to GET ``path``; None for any other status or no reply."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as reply:
            return bytes(reply.read().strip())
    except OSError:  # HTTPError (404 …) included
        return None
