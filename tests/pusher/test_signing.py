"""Signatures against the vectors in PUSHER-PROTOCOL.md and the official `pusher` package."""

from __future__ import annotations

import json

import pusher
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsdiag.pusher.signing import (
    body_md5,
    mask_secret,
    presence_channel_data,
    sign_api_request,
    sign_channel,
    sign_user,
    validate_channel_name,
    validate_event_name,
    validate_socket_id,
)

KEY, SECRET = "278d425bdf160c739803", "7ad3773142a6692b25b8"


def test_private_channel_vector() -> None:
    assert sign_channel(KEY, SECRET, "1234.1234", "private-foobar") == (
        f"{KEY}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
    )


def test_user_signin_vector() -> None:
    assert sign_user(KEY, SECRET, "1234.1234", '{"id":"12345"}') == (
        f"{KEY}:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
    )


def test_presence_vector() -> None:
    data = '{"user_id":"fred","user_info":{"key":"value"}}'
    assert presence_channel_data("fred", {"key": "value"}) == data
    assert sign_channel("foo", "bar", "345.43245", "presence-channel", data) == (
        "foo:e80ba6439492c2113022c39297a87a948de14061cc67b5788e045645a68b8ccd"
    )


def test_http_api_vector() -> None:
    body = b'{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}'
    assert body_md5(body) == "ec365a775a4cd0599faeb73354201b6f"
    signed = sign_api_request(
        key=KEY,
        secret=SECRET,
        method="POST",
        path="/apps/3/events",
        body=body,
        timestamp=1353088179,
    )
    assert signed.params["auth_signature"] == (
        "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c"
    )
    assert signed.string_to_sign.startswith("POST\n/apps/3/events\nauth_key=")
    assert SECRET not in signed.string_to_sign


@given(
    socket_id=st.from_regex(r"\A[0-9]{1,10}\.[0-9]{1,10}\Z"),
    suffix=st.from_regex(r"\A[-a-zA-Z0-9_=@,.;]{1,40}\Z"),
)
def test_channel_auth_agrees_with_official_library(socket_id: str, suffix: str) -> None:
    client = pusher.Pusher(app_id="1", key=KEY, secret=SECRET)
    channel = f"private-{suffix}"
    official = client.authenticate(channel=channel, socket_id=socket_id)
    assert official["auth"] == sign_channel(KEY, SECRET, socket_id, channel)


def test_presence_auth_agrees_with_official_library() -> None:
    client = pusher.Pusher(app_id="1", key=KEY, secret=SECRET)
    official = client.authenticate(
        channel="presence-room",
        socket_id="1.2",
        custom_data={"user_id": "u1", "user_info": {"n": 1}},
    )
    data = official["channel_data"]
    assert json.loads(data) == {"user_id": "u1", "user_info": {"n": 1}}
    assert official["auth"] == sign_channel(KEY, SECRET, "1.2", "presence-room", data)


def test_http_signature_agrees_with_official_library() -> None:
    from pusher.signature import sign

    signed = sign_api_request(
        key=KEY,
        secret=SECRET,
        method="GET",
        path="/apps/1/channels",
        params={"filter_by_prefix": "presence-", "info": "user_count"},
        timestamp=1700000000,
    )
    assert signed.params["auth_signature"] == sign(SECRET, signed.string_to_sign)


@pytest.mark.parametrize(
    ("secret", "shown"), [(None, "(none)"), ("", "(none)"), ("abc", "…"), (SECRET, "7ad…")]
)
def test_mask_secret(secret: str | None, shown: str) -> None:
    assert mask_secret(secret) == shown


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("private-ok_1=@,.;", None),
        ("", "empty"),
        ("x" * 165, "limit is 164"),
        ("bad channel", "' '"),
        ("émoji", "'é'"),
    ],
)
def test_channel_name_validation(name: str, problem: str | None) -> None:
    result = validate_channel_name(name)
    assert (result is None) if problem is None else (result is not None and problem in result)


def test_event_and_socket_validation() -> None:
    assert validate_event_name("my-event") is None
    assert "limit is 200" in (validate_event_name("e" * 201) or "")
    assert validate_socket_id("123.456") is None
    assert validate_socket_id("123") is not None


@given(st.text())
def test_validators_never_raise(text: str) -> None:
    for check in (validate_channel_name, validate_event_name, validate_socket_id):
        assert check(text) is None or isinstance(check(text), str)
