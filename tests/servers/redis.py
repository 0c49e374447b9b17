"""Redis (Debian's redis-server) on a free loopback port: the pub/sub soketi nodes share."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.process import stop
from tests.servers.soketi import free_port


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
    binary = _require()
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    redis = Redis(port, proc)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on {port}")
            time.sleep(0.05)
        yield redis
    finally:
        redis.stop()
