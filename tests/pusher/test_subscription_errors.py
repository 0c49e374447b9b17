"""A pusher:subscription_error's data is read out in words, never a Python repr (issue 14)."""

from __future__ import annotations

import json

import pytest

from wsdiag.pusher.client import Connected, PusherClient, SubscriptionFailed


@pytest.mark.parametrize(
    ("data", "message"),
    [
        # soketi and Pusher: {"type", "error", "status"}, as pusher-js documents it
        (
            {"type": "AuthError", "error": "Invalid signature", "status": 401},
            "Invalid signature (AuthError, status 401)",
        ),
        ({"error": "no"}, "no"),
        ("AuthError", "AuthError"),
        ({"type": "AuthError"}, '{"type": "AuthError"}'),  # no words to read out: JSON, not repr
        (None, "null"),
    ],
)
def test_subscription_error_data_in_words(data: object, message: str) -> None:
    client = PusherClient(now=0.0)
    established = {"socket_id": "1.2", "activity_timeout": 30}
    text = json.dumps({"event": "pusher:connection_established", "data": json.dumps(established)})
    assert client.receive_text(text, 0.0) == [Connected("1.2", 30)]
    frame = {"event": "pusher:subscription_error", "channel": "private-x", "data": data}
    (failed,) = client.receive_text(json.dumps(frame), 1.0)
    assert failed == SubscriptionFailed("private-x", message)
    assert "{'" not in failed.message
