"""Prometheus (Debian's package), a real scraper on a free loopback port, and promtool.

``start_prometheus`` writes the given scrape config, starts Prometheus with its
data in a temporary directory, waits for ``/-/ready`` and yields a handle whose
``query`` asks the HTTP API. Installed by ``scripts/testbed/install``; without
it the tests skip (fail under CI, where the install step is part of the test
command).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.servers.process import PortTaken, on_a_free_port, stop
from tests.servers.soketi import listening_ports


def require(binary: str) -> str:
    path = shutil.which(binary)
    if path is not None:
        return path
    message = f"{binary} is not installed (Debian: prometheus): run scripts/testbed/install"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Prometheus:
    port: int
    log: Path

    def query(self, expression: str) -> list[dict[str, Any]]:
        """An instant query's result vector."""
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode(
            {"query": expression}
        )
        with urllib.request.urlopen(url, timeout=5) as reply:
            document = json.load(reply)
        assert document["status"] == "success", document
        return list(document["data"]["result"])


@contextlib.contextmanager
def start_prometheus(tmp_path: Path, config: str) -> Iterator[Prometheus]:
    binary = require("prometheus")
    root = tmp_path / f"prometheus-{time.monotonic_ns()}"
    root.mkdir()
    (root / "prometheus.yml").write_text(config)
    proc, port, log = on_a_free_port(lambda port: _launch(binary, root, port))
    try:
        yield Prometheus(port, log)
    finally:
        stop(proc, grace_s=10)


def _launch(binary: str, root: Path, port: int) -> tuple[subprocess.Popen[bytes], int, Path]:
    log = root / f"prometheus-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(port, proc, log)
    except BaseException:
        stop(proc, grace_s=10)
        raise
    return proc, port, log


def _wait_ready(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = log.read_text()
            lost = PortTaken if "address already in use" in said else RuntimeError
            raise lost(f"prometheus exited ({proc.returncode}):\n{said[-2000:]}")
        if port not in listening_ports(proc.pid):  # not yet, or another process has the port
            time.sleep(0.1)
            continue
        ready = f"http://127.0.0.1:{port}/-/ready"
        with contextlib.suppress(OSError), urllib.request.urlopen(ready, timeout=1) as reply:
            if reply.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"prometheus not ready after 20 s:\n{log.read_text()[-2000:]}")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require("promtool"), *args], capture_output=True, text=True, timeout=60, check=False
    )
