"""The fallback stage against real HTTP servers: the test fallback endpoint, soketi, a TLS front.

The stage opens pusher-js's xhr_streaming URL and reads the reply to the
Pusher handshake; polling is tried when the stream shows nothing. The judging
(``FallbackPath``) is checked here on records the probe really produced.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
import trustme

from tests.servers.fallback import SOCKET_ID, fallback_server
from tests.servers.relay import refused_port, relay_on
from tests.servers.soketi import Soketi
from tests.servers.tls import make_context
from wsdiag.checks import CheckOptions
from wsdiag.checks.fallback import FallbackPath, probe_fallback
from wsdiag.concurrency import Pending
from wsdiag.models import ErrorKind, Stage, StageResult, Status
from wsdiag.pusher.fallback import (
    Close,
    FrameSplitter,
    Garbled,
    Heartbeat,
    Messages,
    Open,
    new_session,
    receive_path,
)
from wsdiag.target import PLACEHOLDER_KEY, Endpoint

KEY = "fallback-key"
OPTIONS = CheckOptions(timeout=1.5)


def probe(port: int, key: str = KEY, *, tls: bool = False, options: CheckOptions = OPTIONS):
    started = time.monotonic()
    result = probe_fallback(
        Endpoint("127.0.0.1", port, tls), ["127.0.0.1"], key, options, self_hosted=False
    )
    return result, time.monotonic() - started


# ---------------------------------------------------------------- frames (pure)


def test_splitter_takes_the_prelude_open_and_handshake_across_reads() -> None:
    splitter = FrameSplitter()
    data = b"h" * 2048 + b'\no{"hostname":"sockjs-eu.pusher.com"}\na["{\\"event\\":\\"x\\"}"]\n'
    frames = (
        splitter.feed(data[:1000]) + splitter.feed(data[1000:2060]) + splitter.feed(data[2060:])
    )
    assert frames == [Heartbeat(), Open("sockjs-eu.pusher.com"), Messages(('{"event":"x"}',))]


@pytest.mark.parametrize(
    ("line", "frame"),
    [
        ("o", Open(None)),
        ('m"{}"', Messages(("{}",))),
        ('c[4001,"App key x not in this cluster"]', Close(4001, "App key x not in this cluster")),
        ("c[3000]", Close(3000, "")),
        ("<html>portal</html>", Garbled("<html>portal</html>")),
        ("a[1,2]", Garbled("a[1,2]")),  # pusher frames are strings
        ("a[oops", Garbled("a[oops")),
    ],
)
def test_each_frame_type(line: str, frame: object) -> None:
    assert FrameSplitter().feed(line.encode() + b"\n") == [frame]


def test_a_line_without_end_is_cut_off_and_a_last_line_counts_at_the_end() -> None:
    splitter = FrameSplitter()
    assert splitter.feed(b"x" * (256 * 1024 + 1)) == [
        Garbled("a line of more than 262,144 bytes without a newline")
    ]
    splitter.feed(b"o")
    assert splitter.finish() == [Open(None)]


def test_urls_are_built_as_pusher_js_builds_them() -> None:
    session = new_session()
    number, random = session.split("/")
    assert 0 <= int(number) < 1000 and len(random) == 8
    path = receive_path("my key", session, "1.0")
    assert path.startswith(f"/pusher/app/my%20key/{session}/xhr_streaming?protocol=7&")
    assert receive_path("k", session, "1.0", "xhr").split("?")[0].endswith("/xhr")


# ---------------------------------------------------------------- the probe, for real


def test_streaming_connects() -> None:
    with fallback_server(KEY) as server:
        result, _ = probe(server.port)
    assert result.status is Status.OK, result
    assert result.stage is Stage.FALLBACK
    assert result.summary == f"xhr_streaming connected, socket_id {SOCKET_ID}"
    assert result.details["socket_id"] == SOCKET_ID
    assert result.details["status"] == 200
    assert [p.name for p in result.phases] == ["connect", "request", "handshake"]
    method, path = server.requests[0]
    assert method == "POST" and path.startswith(f"/pusher/app/{KEY}/")


def test_an_unknown_key_is_the_clusters_4001() -> None:
    with fallback_server(KEY) as server:
        result, _ = probe(server.port, key="someone-elses-key")
    assert result.status is Status.FAIL
    assert result.kind is ErrorKind.PUSHER_APP_NOT_FOUND
    assert "not in this cluster" in result.summary
    assert result.cause and result.fix


def test_the_placeholder_key_proves_the_fallback_reaches_pusher() -> None:
    with fallback_server(KEY) as server:
        result, _ = probe(server.port, key=PLACEHOLDER_KEY)
    assert result.status is Status.OK
    assert "placeholder key rejected with 4001" in result.summary


def test_a_buffered_stream_falls_back_to_polling() -> None:
    with fallback_server(KEY, buffered=True) as server:
        result, elapsed = probe(server.port)
    assert result.status is Status.WARN, result
    assert result.kind is ErrorKind.FALLBACK_TIMEOUT
    assert result.details["tried"] == ["xhr_streaming", "xhr"]
    assert result.details["socket_id"] == SOCKET_ID
    assert "xhr_polling works" in str(result.cause)
    assert "buffers" in str(result.cause)
    assert elapsed < 2 * OPTIONS.timeout + 1  # the stream's wait, then polling's
    assert [p for _, p in server.requests if "/xhr?" in p]


@pytest.mark.soketi
def test_soketi_serves_no_fallback(soketi: Soketi) -> None:
    result, _ = probe(soketi.port, key=soketi.key)
    assert result.status is Status.FAIL
    assert result.kind is ErrorKind.FALLBACK_NOT_SERVED
    assert result.summary == "HTTP 404: no fallback route"


def test_a_closed_port_is_the_tcp_failure() -> None:
    with refused_port() as port:
        result, _ = probe(port)
    assert result.kind is ErrorKind.TCP_REFUSED
    assert result.status is Status.FAIL


def test_over_tls_with_the_ca_given(tmp_path: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with (
        fallback_server(KEY) as server,
        relay_on(
            ["127.0.0.1"], ("127.0.0.1", server.port), context=make_context(ca, "127.0.0.1")
        ) as port,
    ):
        trusted, _ = probe(port, tls=True, options=CheckOptions(timeout=1.5, ca_bundle=str(bundle)))
        untrusted, _ = probe(port, tls=True)
    assert trusted.status is Status.OK, trusted
    assert [p.name for p in trusted.phases] == ["connect", "tls", "request", "handshake"]
    assert untrusted.kind is ErrorKind.TLS_UNTRUSTED_ISSUER


# ---------------------------------------------------------------- judged as the client


def path_with(result: StageResult, *, self_hosted: bool = False) -> FallbackPath:
    endpoint = Endpoint("sockjs-fw.pusher.com", 443, True)
    pending = Pending(lambda: result)
    return FallbackPath(endpoint, "ws-fw.pusher.com", self_hosted, pending, None, 0.0)


def failure(host_stage: Stage = Stage.REACH) -> StageResult:
    return StageResult(
        host_stage, "x", Status.FAIL, "TCP: filtered", ErrorKind.TCP_FILTERED, "dropped", "fix it"
    )


def test_a_working_fallback_turns_websocket_host_failures_into_warnings() -> None:
    with fallback_server(KEY) as server:
        connected, _ = probe(server.port)
    path = path_with(connected)
    rescued = path.rescue(failure(), "ws-fw.pusher.com")
    assert rescued.status is Status.WARN
    assert "falls back to HTTP (xhr_streaming on sockjs-fw.pusher.com:443)" in str(rescued.cause)
    assert path.rescue(failure(), "api-fw.pusher.com").status is Status.FAIL  # the API is no path
    assert path.record(websocket_works=False) is connected


def test_a_failing_fallback_rescues_nothing_and_fails_only_when_nothing_works() -> None:
    with refused_port() as port:
        refused, _ = probe(port)
    path = path_with(refused)
    assert path.rescue(failure(), "ws-fw.pusher.com").status is Status.FAIL
    assert path.record(websocket_works=False).status is Status.FAIL
    warned = path.record(websocket_works=True)
    assert warned.status is Status.WARN
    assert "have no fallback when it fails" in str(warned.cause)


@pytest.mark.soketi
def test_a_self_hosted_servers_routes_rescue_nothing(soketi: Soketi) -> None:
    result, _ = probe(soketi.port, key=soketi.key)
    path = path_with(result, self_hosted=True)
    assert path.rescue(failure(), "ws-fw.pusher.com").status is Status.FAIL
    assert path.record(websocket_works=True).status is Status.WARN


def test_only_failures_of_the_path_are_rescued() -> None:
    with fallback_server(KEY) as server:
        connected, _ = probe(server.port)
    path = path_with(connected)
    refused = StageResult(
        Stage.WEBSOCKET, "x", Status.FAIL, "4001", ErrorKind.PUSHER_APP_NOT_FOUND, "no app", "fix"
    )
    stalled = replace(refused, kind=ErrorKind.PUSHER_NO_HANDSHAKE)
    assert path.rescue(refused, "ws-fw.pusher.com").status is Status.FAIL  # the server said no
    assert path.rescue(stalled, "ws-fw.pusher.com").status is Status.WARN  # pusher-js falls back


def test_a_fallback_over_a_transport_the_client_left_out_rescues_nothing() -> None:
    with fallback_server(KEY, buffered=True) as server:
        polled, _ = probe(server.port)  # connected over xhr polling only
    endpoint = Endpoint("sockjs-fw.pusher.com", 443, True)
    streaming_only = FallbackPath(
        endpoint, "ws-fw.pusher.com", False, Pending(lambda: polled), None, 0.0,
        ("ws", "wss", "xhr_streaming"),
    )  # fmt: skip
    assert not streaming_only.works()
    assert path_with(polled).works()  # pusher-js's default transports include polling
