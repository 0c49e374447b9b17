"""Redis (Debian's redis-server) on a free loopback port: the pub/sub soketi nodes share."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.process import PortTaken, on_a_free_port, stop
from tests.servers.soketi import listening_ports


@dataclass
class Redis:
    port: int
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stop it now (a node's Redis going away mid-run)."""
        if self.proc.poll() is None:
            stop(self.proc)


def _require() -> str:
    path = shutil.which("redis-server")
    if path is not None:
        return path
    message = "redis-server is not installed (Debian: redis-server): run scripts/testbed/install"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextlib.contextmanager
def start_redis(tmp_path: Path) -> Iterator[Redis]:
    redis = on_a_free_port(lambda port: _launch(tmp_path, port))
    try:
        yield redis
    finally:
        redis.stop()


def _launch(tmp_path: Path, port: int) -> Redis:
    log = tmp_path / f"redis-{port}.log"
    proc = subprocess.Popen(
        [_require(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path), "--logfile", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    redis = Redis(port, proc)
    deadline = time.monotonic() + 10
    while True:
        if port in listening_ports(proc.pid):  # redis itself, not whoever took the port
            return redis
        if proc.poll() is not None:
            said = log.read_text(errors="replace") if log.exists() else ""
            lost = PortTaken if "Address already in use" in said else RuntimeError
            raise lost(f"redis-server exited on port {port}: {said[-1000:]}")
        if time.monotonic() > deadline:
            redis.stop()
            raise RuntimeError(f"redis-server did not start on {port}")
        time.sleep(0.05)
