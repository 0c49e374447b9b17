"""The test bed's servers that must be handed a port: a port lost to another process is
retried, not a failed test (tests/servers/process.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import nginx, prometheus, redis
from tests.servers.process import PortTaken, on_a_free_port


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


def test_a_lost_port_is_tried_again_with_a_fresh_one() -> None:
    tried: list[int] = []

    def start(port: int) -> int:
        tried.append(port)
        if len(tried) < 3:
            raise PortTaken(f"port {port} taken")
        return port

    assert on_a_free_port(start) == tried[-1]
    assert len(tried) == 3


def test_after_the_last_attempt_the_loss_is_said() -> None:
    def start(port: int) -> int:
        raise PortTaken(f"port {port} taken")

    with pytest.raises(PortTaken):
        on_a_free_port(start, attempts=2)


def test_nginx_on_a_taken_port_says_port_taken(tmp_path: Path, taken_port: int) -> None:
    nginx.require_nginx()
    cert = tmp_path / "unused.pem"
    with pytest.raises(PortTaken):
        nginx._launch(tmp_path, taken_port, "listen 127.0.0.1:{port};", "", cert)


def test_redis_on_a_taken_port_says_port_taken(tmp_path: Path, taken_port: int) -> None:
    redis._require()
    with pytest.raises(PortTaken):
        redis._launch(tmp_path, taken_port)


def test_prometheus_on_a_taken_port_says_port_taken(tmp_path: Path, taken_port: int) -> None:
    binary = prometheus.require("prometheus")
    (tmp_path / "prometheus.yml").write_text("global: {}\n")
    with pytest.raises(PortTaken):
        prometheus._launch(binary, tmp_path, taken_port)
