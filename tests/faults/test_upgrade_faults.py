"""WebSocket upgrade faults through `wsdiag check`: a scripted server, tinyproxy before soketi."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import Outcome, expect, run_wsdiag
from tests.servers.proxy import reverse_proxy
from tests.servers.pusher_script import Script, scripted_server
from tests.servers.soketi import Soketi

TIMEOUT = 1.0


def http(status: str, body: bytes = b"", headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\n{headers}".encode() + b"\r\n" + body


def check(port: int, home: Path, key: str = "app-key") -> Outcome:
    return run_wsdiag(
        "check",
        f"ws://127.0.0.1:{port}",
        "--key",
        key,
        "--timeout",
        str(TIMEOUT),
        "--json",
        home=home,
    )


@pytest.mark.parametrize(
    ("fault", "reply", "words"),
    [
        ("upgrade.400", http("400 Bad Request", b"no", "Content-Length: 2\r\n"), "Upgrade"),
        ("upgrade.403", http("403 Forbidden", b"", "Content-Length: 0\r\n"), "forbidden"),
        ("upgrade.404", http("404 Not Found", b"nope", "Content-Length: 4\r\n"), "/app/KEY"),
        ("upgrade.426", http("426 Upgrade Required", b"", "Content-Length: 0\r\n"), "426"),
        (
            "upgrade.captive_portal",
            http(
                "200 OK",
                b"<html><body>Log in to CafeWiFi</body></html>",
                "Content-Type: text/html\r\n",
            ),
            "captive portal",
        ),
        (
            "upgrade.redirect",
            http("302 Found", b"", "Location: http://login.cafe.test/\r\nContent-Length: 0\r\n"),
            "login.cafe.test",
        ),
    ],
)
def test_upgrade_replies(tmp_path: Path, fault: str, reply: bytes, words: str) -> None:
    with scripted_server(Script(upgrade_reply=reply)) as server:
        outcome = check(server.port, tmp_path)
    record = expect(fault, outcome, within=TIMEOUT)
    assert words in record["summary"] + record["cause"]


def test_server_that_never_answers_the_upgrade(tmp_path: Path) -> None:
    with scripted_server(Script(silent=True)) as server:
        outcome = check(server.port, tmp_path)
    expect("upgrade.silent", outcome, within=TIMEOUT)


@pytest.mark.soketi
def test_proxy_that_strips_the_upgrade_headers(tmp_path: Path, soketi: Soketi) -> None:
    with reverse_proxy(soketi.port, tmp_path) as port:
        outcome = check(port, tmp_path, key=soketi.key)
    record = expect("upgrade.proxy_strips_upgrade", outcome, within=TIMEOUT)
    assert "Upgrade: websocket" in record["cause"]
    assert "tinyproxy" in record["cause"]  # the Via header names the proxy
    assert "proxy_set_header Upgrade" in record["fix"]


@pytest.mark.soketi
def test_soketi_directly_is_fine(tmp_path: Path, soketi: Soketi) -> None:
    """The control for the proxy test: the same server without the proxy connects."""
    outcome = check(soketi.port, tmp_path, key=soketi.key)
    assert outcome.exit_code == 0, outcome.describe()
