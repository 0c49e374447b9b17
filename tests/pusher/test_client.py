"""The sans-I/O Pusher client, fed frames and times: no socket anywhere."""

from __future__ import annotations

import json

import pytest

from wsdiag.pusher.client import (
    BadFrame,
    Closed,
    Connected,
    HandshakeFailed,
    Message,
    Pong,
    PusherClient,
    ServerError,
    State,
    Subscribed,
    SubscriptionFailed,
)

ESTABLISHED = json.dumps(
    {
        "event": "pusher:connection_established",
        "data": json.dumps({"socket_id": "123.456", "activity_timeout": 30}),
    }
)


def frame(event: str, data: object = None, channel: str | None = None) -> str:
    message: dict[str, object] = {"event": event, "data": json.dumps(data or {})}
    if channel:
        message["channel"] = channel
    return json.dumps(message)


def connected(now: float = 0.0) -> PusherClient:
    client = PusherClient(now=now)
    assert client.receive_text(ESTABLISHED, now) == [Connected("123.456", 30)]
    return client


def test_handshake_takes_the_lower_activity_timeout() -> None:
    client = connected()
    assert client.state is State.CONNECTED
    assert client.socket_id == "123.456"
    assert client.activity_timeout == 30  # the server's 30 beats pusher-js's 120


@pytest.mark.parametrize(
    ("text", "code", "bad"),
    [
        (
            frame("pusher:error", {"code": 4001, "message": "App key x not in this cluster"}),
            4001,
            False,
        ),
        (frame("my-event", {"x": 1}, "orders"), None, True),
        ("not json", None, True),
        (json.dumps({"event": "pusher:connection_established", "data": "{}"}), None, True),
    ],
)
def test_anything_but_established_first_fails_the_handshake(
    text: str, code: int | None, bad: bool
) -> None:
    client = PusherClient(now=0.0)
    (event,) = client.receive_text(text, 0.1)
    assert isinstance(event, HandshakeFailed)
    assert (event.code, event.bad_frame) == (code, bad)
    assert client.state is State.CLOSED


def test_a_close_before_the_handshake_is_a_failed_handshake() -> None:
    client = PusherClient(now=0.0)
    assert client.receive_close(4001, "App key x does not exist.") == [
        HandshakeFailed(4001, "App key x does not exist.")
    ]
    assert client.receive_close(1006, "again") == []


def test_ping_and_pong_measure_the_round_trip() -> None:
    client = connected()
    client.ping(10.0)
    assert client.frames_to_send() == ['{"event":"pusher:ping","data":{}}']
    assert client.frames_to_send() == []
    (pong,) = client.receive_text(frame("pusher:pong"), 10.25)
    assert isinstance(pong, Pong)
    assert pong.rtt_s == pytest.approx(0.25)


def test_the_servers_ping_is_answered() -> None:
    client = connected()
    assert client.receive_text(frame("pusher:ping"), 1.0) == []
    assert client.frames_to_send() == ['{"event":"pusher:pong","data":{}}']


def test_keep_alive_pings_after_silence_and_gives_up_without_pong() -> None:
    client = connected(now=0.0)
    assert client.next_deadline() == 30.0
    assert client.tick(29.9) == []
    assert client.frames_to_send() == []
    assert client.tick(30.0) == []
    assert client.frames_to_send() == ['{"event":"pusher:ping","data":{}}']
    assert client.next_deadline() == 60.0  # pusher-js's pong timeout: 30 s
    (closed,) = client.tick(60.0)
    assert isinstance(closed, Closed)
    assert (closed.code, closed.next_step) == (4201, "immediately")
    assert client.state is State.CLOSED
    assert client.next_deadline() is None


def test_any_frame_keeps_the_connection_alive() -> None:
    client = connected(now=0.0)
    client.tick(30.0)
    client.frames_to_send()
    (message,) = client.receive_text(frame("tick", {"n": 1}, "orders"), 45.0)
    assert isinstance(message, Message)
    assert message.event.data == {"n": 1}
    assert client.tick(60.0) == []  # the pong did not come, but the channel event did
    assert client.next_deadline() == 75.0


def test_subscriptions() -> None:
    client = connected()
    client.subscribe("private-x", auth="key:sig")
    assert json.loads(client.frames_to_send()[0]) == {
        "event": "pusher:subscribe",
        "data": {"channel": "private-x", "auth": "key:sig"},
    }
    ok = client.receive_text(frame("pusher_internal:subscription_succeeded", {}, "private-x"), 1)
    assert ok == [Subscribed("private-x", {})]
    refused = client.receive_text(
        json.dumps(
            {"event": "pusher:subscription_error", "channel": "private-y", "data": "AuthError"}
        ),
        2,
    )
    assert refused == [SubscriptionFailed("private-y", "AuthError")]


def test_errors_and_bad_frames_after_the_handshake_keep_the_connection() -> None:
    client = connected()
    error = client.receive_text(frame("pusher:error", {"code": 4301, "message": "slow"}), 1)
    assert error == [ServerError(4301, "slow")]
    (bad,) = client.receive_text("[1, 2]", 2)
    assert isinstance(bad, BadFrame)
    assert client.receive_bad_frame("a binary frame of 3 bytes", 3) == [
        BadFrame("a binary frame of 3 bytes")
    ]
    assert client.state is State.CONNECTED


@pytest.mark.parametrize(
    ("code", "step"),
    [(4000, "tls"), (4001, "give_up"), (4100, "backoff"), (4200, "immediately"), (1006, "backoff")],
)
def test_the_close_code_decides_what_pusher_js_does_next(code: int, step: str) -> None:
    client = connected()
    (closed,) = client.receive_close(code, "bye")
    assert isinstance(closed, Closed)
    assert closed.next_step == step
