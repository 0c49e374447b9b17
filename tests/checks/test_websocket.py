"""The websocket stage against a scripted server: replies a real server will not give on demand."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.servers.pusher_script import Script, close, established, pusher_error, scripted_server
from wsdiag.checks import CheckOptions
from wsdiag.checks.ping import latency_stats, measure_ping
from wsdiag.checks.websocket import open_pusher
from wsdiag.models import ErrorKind, Status
from wsdiag.target import PLACEHOLDER_KEY, Endpoint

OPTIONS = CheckOptions(timeout=1.5, ping_count=3)


def run(script: Script, key: str = "app-key", options: CheckOptions = OPTIONS):
    with scripted_server(script) as server:
        started = time.monotonic()
        result, session = open_pusher(
            Endpoint("127.0.0.1", server.port, False), "127.0.0.1", key, options
        )
        elapsed = time.monotonic() - started
        if session is not None:
            session.close()
        assert elapsed < options.timeout + 1
        return result, session, server


def http(status: str, body: bytes = b"", headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\n{headers}".encode() + b"\r\n" + body


def assert_explained(result) -> None:
    assert result.cause and result.fix


def test_connection_established() -> None:
    result, session, server = run(Script(actions=[established("77.88", 30)]))
    assert result.status is Status.OK
    assert result.details["socket_id"] == "77.88"
    assert result.details["activity_timeout"] == 30
    assert [p.name for p in result.phases] == ["connect", "upgrade", "handshake"]
    assert session is not None
    request_line = server.requests[0].split("\r\n")[0]
    assert request_line.startswith("GET /app/app-key?protocol=7&client=wsdiag&version=")


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (http("400 Bad Request", b"not websocket", "Content-Length: 13\r\n"), "Upgrade/Connection"),
        (http("403 Forbidden", b"", "Content-Length: 0\r\n"), "forbidden"),
        (http("404 Not Found", b"nope", "Content-Length: 4\r\n"), "/app/KEY"),
        (http("426 Upgrade Required", b"", "Content-Length: 0\r\n"), "Upgrade Required"),
        (http("502 Bad Gateway", b"", "Content-Length: 0\r\n"), "could not reach"),
    ],
)
def test_upgrade_rejections(reply: bytes, words: str) -> None:
    result, session, _ = run(Script(upgrade_reply=reply))
    assert result.kind is ErrorKind.WS_UPGRADE_REJECTED
    assert session is None
    assert words in result.cause
    assert_explained(result)
    assert result.details["status_line"].startswith("HTTP ")


def test_captive_portal_html_without_content_length() -> None:
    page = b"<html><body>Please log in to HotelWiFi</body></html>"
    result, _, _ = run(Script(upgrade_reply=http("200 OK", page, "Content-Type: text/html\r\n")))
    assert result.kind is ErrorKind.WS_UPGRADE_REJECTED
    assert "captive portal" in result.cause
    assert "HotelWiFi" in result.details["body"]


def test_redirect_names_the_location() -> None:
    reply = http("302 Found", b"", "Location: http://portal.example/login\r\nContent-Length: 0\r\n")
    result, _, _ = run(Script(upgrade_reply=reply))
    assert result.kind is ErrorKind.WS_UPGRADE_REJECTED
    assert "http://portal.example/login" in result.summary
    assert_explained(result)


def test_silent_server_times_out() -> None:
    result, _, _ = run(Script(silent=True))
    assert result.kind is ErrorKind.WS_TIMEOUT
    assert_explained(result)


def test_bad_accept_header() -> None:
    result, _, _ = run(Script(bad_accept=True))
    assert result.kind is ErrorKind.WS_UPGRADE_REJECTED
    assert "proxy" in result.cause


def test_no_connection_established() -> None:
    result, _, _ = run(Script(actions=[]))
    assert result.kind is ErrorKind.PUSHER_NO_HANDSHAKE
    assert_explained(result)


@pytest.mark.parametrize(
    ("actions", "kind"),
    [
        ([pusher_error(4004, "Over quota"), close(4004)], ErrorKind.PUSHER_OVER_QUOTA),
        ([pusher_error(4100, "Over capacity"), close(4100)], ErrorKind.PUSHER_OVER_CAPACITY),
        ([close(4200, "reconnect")], ErrorKind.PUSHER_RECONNECT),
        ([close(4009)], ErrorKind.PUSHER_UNAUTHORIZED),
        ([pusher_error(4001, "App key x not in this cluster")], ErrorKind.PUSHER_APP_NOT_FOUND),
        ([pusher_error(4003)], ErrorKind.PUSHER_APP_DISABLED),
        ([pusher_error(4000)], ErrorKind.PUSHER_TLS_REQUIRED),
        ([pusher_error(None, "something odd")], ErrorKind.PUSHER_ERROR),
        ([("text", "this is not json")], ErrorKind.PUSHER_BAD_FRAME),
        ([("binary", b"\x00\x01")], ErrorKind.PUSHER_BAD_FRAME),
        ([established("not-a-socket-id")], ErrorKind.PUSHER_BAD_FRAME),
        ([("drop", None)], ErrorKind.WS_CLOSED),
    ],
)
def test_pusher_errors_and_bad_frames(actions: list, kind: ErrorKind) -> None:
    result, session, _ = run(Script(actions=actions))
    assert session is None
    assert result.status is Status.FAIL
    assert result.kind is kind
    assert_explained(result)


def test_4001_with_placeholder_key_is_ok() -> None:
    result, session, _ = run(Script(actions=[pusher_error(4001), close(4001)]), key=PLACEHOLDER_KEY)
    assert result.status is Status.OK
    assert session is None
    assert "placeholder key" in result.summary


def test_another_event_before_established_is_an_invalid_handshake() -> None:
    """pusher-js fails the handshake ("Invalid handshake") on any other first event."""
    noise = ("text", json.dumps({"event": "pusher:something", "data": "{}"}))
    result, session, _ = run(Script(actions=[noise, established()]))
    assert result.kind is ErrorKind.PUSHER_BAD_FRAME
    assert session is None
    assert "'pusher:something'" in result.summary
    assert_explained(result)


def test_one_megabyte_first_frame_fails_fast_with_its_size() -> None:
    big = ("text", json.dumps({"event": "big", "data": "x" * 1_000_000}))
    started = time.monotonic()
    result, _, _ = run(Script(actions=[big, established()]), options=CheckOptions(timeout=5))
    assert time.monotonic() - started < 2, "the whole frame is read, not waited past"
    assert result.kind is ErrorKind.PUSHER_BAD_FRAME
    assert "1,000,0" in result.summary  # its size, so the user sees it was no Pusher frame


@pytest.fixture
def tls_material(tmp_path: Path) -> Iterator[tuple[ssl.SSLContext, str]]:
    ca = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("ws-test.wsdiag.invalid").configure_cert(server_context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    yield server_context, str(bundle)


def test_wss_with_a_private_ca(tls_material: tuple[ssl.SSLContext, str]) -> None:
    server_context, bundle = tls_material
    with scripted_server(Script(actions=[established()]), tls=server_context) as server:
        endpoint = Endpoint("ws-test.wsdiag.invalid", server.port, True)
        options = CheckOptions(timeout=2, ca_bundle=bundle)
        result, session = open_pusher(endpoint, "127.0.0.1", "k", options)
        assert session is not None
        session.close()
        untrusted, _ = open_pusher(endpoint, "127.0.0.1", "k", CheckOptions(timeout=2))
    assert result.status is Status.OK
    assert [p.name for p in result.phases] == ["connect", "tls", "upgrade", "handshake"]
    assert untrusted.kind is ErrorKind.TLS_UNTRUSTED_ISSUER


def test_ping_round_trips() -> None:
    with scripted_server(Script(actions=[established()], pong_delay=0.02)) as server:
        _, session = open_pusher(
            Endpoint("127.0.0.1", server.port, False), "127.0.0.1", "k", OPTIONS
        )
        assert session is not None
        ping = measure_ping(session, "x", OPTIONS)
        session.close()
    assert ping.status is Status.OK
    assert len(ping.details["samples_ms"]) == 3
    assert all(sample >= 20 for sample in ping.details["samples_ms"])
    assert sum('"pusher:ping"' in text for text in server.received) == 3


def test_pongs_that_never_come() -> None:
    options = CheckOptions(timeout=1.0, ping_count=3)
    with scripted_server(Script(actions=[established()], answer_pings=False)) as server:
        _, session = open_pusher(
            Endpoint("127.0.0.1", server.port, False), "127.0.0.1", "k", options
        )
        assert session is not None
        started = time.monotonic()
        ping = measure_ping(session, "x", options)
        session.close()
    assert ping.kind is ErrorKind.PING_TIMEOUT
    assert time.monotonic() - started < 2.0
    assert ping.fix


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([10.0], {"min": 10.0, "median": 10.0, "p95": 10.0, "max": 10.0, "jitter": 0.0}),
        (
            [10.0, 20.0, 30.0],
            {"min": 10.0, "median": 20.0, "p95": 30.0, "max": 30.0, "jitter": 10.0},
        ),
        (
            [5.0, 1.0, 3.0, 2.0],
            {"min": 1.0, "median": 2.5, "p95": 5.0, "max": 5.0, "jitter": 2.333},
        ),
        ([], {}),
    ],
)
def test_latency_stats(samples: list[float], expected: dict) -> None:
    assert latency_stats(samples) == expected
