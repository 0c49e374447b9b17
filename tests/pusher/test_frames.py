"""Frames and close codes: pure, table-driven."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsdiag.models import ErrorKind
from wsdiag.pusher.codes import explain_code, known_codes
from wsdiag.pusher.frames import (
    FrameError,
    connection_established,
    connection_path,
    error_of,
    parse_frame,
    ping_frame,
    subscribe_frame,
    unsubscribe_frame,
)


def test_connection_path_quotes_the_key() -> None:
    assert connection_path("abc", "1.2.3") == "/app/abc?protocol=7&client=wsdiag&version=1.2.3"
    assert connection_path("a/b?c", "1") == "/app/a%2Fb%3Fc?protocol=7&client=wsdiag&version=1"


@pytest.mark.parametrize("prefix", ["/custom/prefix", "/custom/prefix/"])
def test_connection_path_after_the_servers_prefix(prefix: str) -> None:
    """As pusher-js puts wsPath before /app/KEY (issue 9, defect 11)."""
    path = connection_path("abc", "1", prefix)
    assert path == "/custom/prefix/app/abc?protocol=7&client=wsdiag&version=1"


def test_double_encoded_data_is_decoded() -> None:
    text = json.dumps({"event": "e", "channel": "c", "data": json.dumps({"a": 1})})
    event = parse_frame(text)
    assert (event.event, event.channel, event.data, event.raw) == ("e", "c", {"a": 1}, text)


def test_plain_string_data_stays() -> None:
    assert parse_frame('{"event":"e","data":"hello"}').data == "hello"
    assert parse_frame('{"event":"e","data":"{broken"}').data == "{broken"


def test_connection_established() -> None:
    data = json.dumps({"socket_id": "1.2", "activity_timeout": 30})
    frame = json.dumps({"event": "pusher:connection_established", "data": data})
    assert connection_established(parse_frame(frame)) == ("1.2", 30)
    bad = '{"event":"pusher:connection_established","data":"{\\"socket_id\\":\\"x\\"}"}'
    with pytest.raises(FrameError, match="invalid socket_id"):
        connection_established(parse_frame(bad))


def test_error_of() -> None:
    event = parse_frame('{"event":"pusher:error","data":{"code":4001,"message":"nope"}}')
    assert error_of(event) == (4001, "nope")
    assert error_of(parse_frame('{"event":"pusher:error","data":{"code":null,"message":"m"}}')) == (
        None,
        "m",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[1]", "a JSON list"),
        ('{"data":1}', 'no "event"'),
        ('{"event":"e","channel":5}', '"channel" is not a string'),
        ("[" * 100_000, "nested too deeply"),  # a RecursionError would end tail
        ('\u00a0{"event":"e"}', "not JSON"),  # JSON's whitespace only, as json.loads
    ],
)
def test_parse_errors_are_precise(text: str, message: str) -> None:
    with pytest.raises(FrameError, match=message):
        parse_frame(text)


def test_data_nested_too_deeply_stays_the_raw_string() -> None:
    data = "[" * 100_000
    assert parse_frame(json.dumps({"event": "e", "data": data})).data == data


def test_json_whitespace_around_a_frame_is_fine() -> None:
    assert parse_frame(' \r\n{"event":"e","data":" {\\"a\\":1}\\n"}\t').data == {"a": 1}


def test_builders() -> None:
    assert json.loads(ping_frame()) == {"event": "pusher:ping", "data": {}}
    assert json.loads(subscribe_frame("presence-x", "k:s", '{"user_id":"1"}')) == {
        "event": "pusher:subscribe",
        "data": {"channel": "presence-x", "auth": "k:s", "channel_data": '{"user_id":"1"}'},
    }
    assert json.loads(unsubscribe_frame("c"))["data"] == {"channel": "c"}


@given(st.text(max_size=200))
def test_parse_never_raises_anything_but_frame_error(text: str) -> None:
    with contextlib.suppress(FrameError):
        parse_frame(text)


@pytest.mark.parametrize("code", known_codes())
def test_every_known_code_is_explained(code: int) -> None:
    info = explain_code(code)
    assert info.title and info.meaning and info.fix
    assert info.reconnect in ("tls", "backoff", "immediately", "give_up")


@pytest.mark.parametrize(
    ("code", "reconnect", "kind"),
    [
        (4000, "tls", ErrorKind.PUSHER_TLS_REQUIRED),
        (4001, "give_up", ErrorKind.PUSHER_APP_NOT_FOUND),
        (4050, "give_up", ErrorKind.PUSHER_ERROR),
        (4100, "backoff", ErrorKind.PUSHER_OVER_CAPACITY),
        (4150, "backoff", ErrorKind.PUSHER_OVER_CAPACITY),
        (4201, "immediately", ErrorKind.PUSHER_RECONNECT),
        (4299, "immediately", ErrorKind.PUSHER_RECONNECT),
        (4301, "give_up", ErrorKind.PUSHER_CLIENT_EVENT_REJECTED),
        (1006, "backoff", ErrorKind.WS_CLOSED),
        (3999, "backoff", ErrorKind.PUSHER_ERROR),
    ],
)
def test_reconnect_rules(code: int, reconnect: str, kind: ErrorKind) -> None:
    info = explain_code(code)
    assert (info.reconnect, info.kind) == (reconnect, kind)


def test_4001_fix_names_key_cluster_and_app_id() -> None:
    fix = explain_code(4001).fix
    assert "key" in fix and "cluster" in fix and "app *id*" in fix
