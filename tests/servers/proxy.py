"""A real HTTP proxy for the tests: Debian's tinyproxy, as a forward or a reverse proxy.

Forward: CONNECT tunnels, with the port allow-list and Basic auth corporate
proxies have. Reverse, in front of a server: tinyproxy forwards the client's
upgrade request but drops the hop-by-hop ``Upgrade`` and ``Connection``
headers from the server's 101 reply, exactly the misconfigured proxy users put
in front of soketi or Reverb.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.process import PortTaken, on_a_free_port


def require_tinyproxy() -> str:
    path = shutil.which("tinyproxy")
    if path is None:
        message = "tinyproxy is not installed: run scripts/testbed/install"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@contextlib.contextmanager
def reverse_proxy(upstream_port: int, workdir: Path) -> Iterator[int]:
    """tinyproxy on a free loopback port forwarding every path to ``upstream_port``."""
    extra = f'ReversePath "/" "http://127.0.0.1:{upstream_port}/"\nReverseOnly Yes\n'
    with _tinyproxy(workdir, extra) as port:
        yield port


@contextlib.contextmanager
def forward_proxy(
    workdir: Path,
    *,
    connect_ports: tuple[int, ...] = (),
    basic_auth: tuple[str, str] | None = None,
    namespace: str | None = None,
) -> Iterator[int]:
    """tinyproxy as the forward proxy of a corporate network: CONNECT tunnels.

    ``connect_ports``: the only ports CONNECT may reach (403 for others), as
    proxies that allow 443 only do. ``basic_auth``: (user, password), else 407.
    ``namespace``: run it on that client machine (its loopback, its hosts file).
    """
    extra = "".join(f"ConnectPort {port}\n" for port in connect_ports)
    if basic_auth:
        extra += f"BasicAuth {basic_auth[0]} {basic_auth[1]}\n"
    with _tinyproxy(workdir, extra, namespace) as port:
        yield port


@contextlib.contextmanager
def _tinyproxy(workdir: Path, extra: str, namespace: str | None = None) -> Iterator[int]:
    # tinyproxy cannot listen on port 0 and say which port it got: it is handed one.
    process, port = on_a_free_port(lambda port: _start_tinyproxy(workdir, extra, namespace, port))
    try:
        yield port
    finally:
        process.kill()
        process.wait(timeout=5)


def _start_tinyproxy(
    workdir: Path, extra: str, namespace: str | None, port: int
) -> tuple[subprocess.Popen[bytes], int]:
    binary = require_tinyproxy()
    config = workdir / f"tinyproxy-{port}.conf"
    config.write_text(
        f"Port {port}\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\nLogLevel Critical\n{extra}"
    )
    # -d: stay in the foreground, so this PID is the proxy and killing it stops it.
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    process = subprocess.Popen(
        [*prefix, binary, "-d", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        if namespace:
            from tests.servers.netns import run_in_namespace

            run_in_namespace(namespace, _wait_listening, port, process)
        else:
            _wait_listening(port, process)
        # Something answered on the port: it is tinyproxy only if tinyproxy still runs.
        time.sleep(0.05)
        if process.poll() is not None:
            raise PortTaken(f"port {port} was taken before tinyproxy could listen on it")
    except BaseException:
        process.kill()
        process.wait(timeout=5)
        raise
    return process, port


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise PortTaken(f"tinyproxy exited: {said}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("tinyproxy did not start listening within 5 s")
