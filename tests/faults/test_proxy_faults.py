"""HTTP proxy faults through `wsdiag check --proxy`: tinyproxy as a real forward proxy."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from tests.faults.harness import Outcome, expect, run_json
from tests.servers.proxy import forward_proxy
from tests.servers.pusher_script import Script, scripted_server
from tests.servers.soketi import Soketi, free_port
from tests.servers.tls import serve_connections

TIMEOUT = 1.0
pytestmark = pytest.mark.soketi


def check(soketi: Soketi, proxy: str, home: Path, port: int | None = None) -> Outcome:
    target = f"ws://127.0.0.1:{port or soketi.port}"
    return run_json(
        "check", target, "--key", soketi.key, "--proxy", proxy, timeout=TIMEOUT, home=home
    )


def test_connect_to_a_port_the_proxy_does_not_allow(tmp_path: Path, soketi: Soketi) -> None:
    with forward_proxy(tmp_path, connect_ports=(443,)) as port:
        record = expect(
            "proxy.denied", check(soketi, f"http://127.0.0.1:{port}", tmp_path), within=TIMEOUT
        )
    assert record["stage"] == "reach"
    assert f"127.0.0.1:{soketi.port}" in record["cause"]


def test_proxy_wants_credentials(tmp_path: Path, soketi: Soketi) -> None:
    with forward_proxy(tmp_path, basic_auth=("alice", "proxy-pass-x1")) as port:
        record = expect(
            "proxy.auth_required",
            check(soketi, f"http://127.0.0.1:{port}", tmp_path),
            within=TIMEOUT,
        )
    assert "no credentials" in record["cause"]


def test_proxy_credentials_wrong(tmp_path: Path, soketi: Soketi) -> None:
    with forward_proxy(tmp_path, basic_auth=("alice", "proxy-pass-x1")) as port:
        outcome = check(soketi, f"http://alice:not-it-77@127.0.0.1:{port}", tmp_path)
    record = expect("proxy.wrong_credentials", outcome, within=TIMEOUT)
    assert "were refused" in record["cause"]
    assert "not-it-77" not in outcome.stdout + outcome.stderr  # the password is masked


def test_proxy_cannot_reach_the_server(tmp_path: Path, soketi: Soketi) -> None:
    with forward_proxy(tmp_path) as port:
        closed = free_port()
        outcome = check(soketi, f"http://127.0.0.1:{port}", tmp_path, port=closed)
    expect("proxy.upstream", outcome, within=TIMEOUT)


def test_proxy_not_running(tmp_path: Path, soketi: Soketi) -> None:
    outcome = check(soketi, f"http://127.0.0.1:{free_port()}", tmp_path)
    record = expect("proxy.down", outcome, within=TIMEOUT)
    assert "proxy" in record["cause"]


def test_proxy_that_never_answers_connect(tmp_path: Path, soketi: Soketi) -> None:
    with scripted_server(Script(silent=True)) as silent:
        # The scripted server waits for a request head; CONNECT's blank line never pleases
        # it into answering, as a wrong port or a dead proxy would not.
        outcome = check(soketi, f"http://127.0.0.1:{silent.port}", tmp_path)
    expect("proxy.silent", outcome, within=TIMEOUT)


def test_refused_is_not_blamed_on_the_target(tmp_path: Path, soketi: Soketi) -> None:
    """The target is fine; the user must read that the *proxy* refused."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        outcome = check(soketi, f"http://127.0.0.1:{closed.getsockname()[1]}", tmp_path)
    first = outcome.report()["results"][outcome.report()["first_failure"]]
    assert "proxy" in first["cause"] and "HTTPS_PROXY" not in first["cause"]


def test_proxy_dripping_its_reply_is_bounded_by_one_timeout(tmp_path: Path, soketi: Soketi) -> None:
    """A byte every 0.3 s never trips a per-recv timeout; the whole reply has one deadline.

    A fault no real proxy makes on demand, so a small thread plays it.
    """

    def drip(conn: socket.socket, stop: threading.Event) -> None:
        for byte in b"HTTP/1.1 200 Connection established, eventually\r\n\r\n":
            if stop.wait(0.3):
                return
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                return

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    with serve_connections(listener, drip):
        outcome = check(soketi, f"http://127.0.0.1:{listener.getsockname()[1]}", tmp_path)
    expect("proxy.silent", outcome, within=TIMEOUT)
