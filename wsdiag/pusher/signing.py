"""Pusher signatures: channel auth, presence, user sign-in and the HTTP API. Pure code.

All are HMAC-SHA256 in lower-case hex keyed with the app secret (see
PUSHER-PROTOCOL.md, "Signatures" and "HTTP API"). Nothing here logs or
returns the secret itself; ``mask_secret`` is how any other module shows one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from wsdiag.records import record

SOCKET_ID = re.compile(r"^\d+\.\d+$")
CHANNEL_NAME = re.compile(r"^[-a-zA-Z0-9_=@,.;]+$")
MAX_CHANNEL_NAME = 164
MAX_EVENT_NAME = 200


def hmac_sha256_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def mask_secret(secret: str | None) -> str:
    """At most the first three characters, so a user can tell which secret was used."""
    if not secret:
        return "(none)"
    return secret[:3] + "…" if len(secret) > 6 else "…"


def channel_string_to_sign(socket_id: str, channel: str, channel_data: str | None = None) -> str:
    """``socket_id:channel`` for private channels, ``:channel_data`` appended for presence."""
    text = f"{socket_id}:{channel}"
    return f"{text}:{channel_data}" if channel_data is not None else text


def sign_channel(
    key: str, secret: str, socket_id: str, channel: str, channel_data: str | None = None
) -> str:
    """The ``auth`` value ``KEY:SIGNATURE`` for a private or presence subscription."""
    signature = hmac_sha256_hex(secret, channel_string_to_sign(socket_id, channel, channel_data))
    return f"{key}:{signature}"


def presence_channel_data(user_id: str, user_info: Mapping[str, Any] | None = None) -> str:
    """The exact JSON string a presence subscription signs and sends."""
    data: dict[str, Any] = {"user_id": user_id}
    if user_info is not None:
        data["user_info"] = dict(user_info)
    return json.dumps(data, separators=(",", ":"))


def user_string_to_sign(socket_id: str, user_data: str) -> str:
    return f"{socket_id}::user::{user_data}"


def sign_user(key: str, secret: str, socket_id: str, user_data: str) -> str:
    """The ``auth`` value for ``pusher:signin`` (user authentication)."""
    return f"{key}:{hmac_sha256_hex(secret, user_string_to_sign(socket_id, user_data))}"


def body_md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()  # the protocol mandates MD5 here


@record
class SignedQuery:
    """An HTTP API query with its signature, and the exact string that was signed."""

    params: dict[str, str]
    string_to_sign: str

    @property
    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode(self.params)


def sign_api_request(
    *,
    key: str,
    secret: str,
    method: str,
    path: str,
    params: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timestamp: int,
) -> SignedQuery:
    """Sign an HTTP API request: ``METHOD\\nPATH\\nsorted-unescaped-query``.

    Keys are sorted lower-cased and values joined *unescaped*, exactly as the
    server rebuilds the string; ``body_md5`` is added when there is a body.
    """
    query = {str(k).lower(): str(v) for k, v in (params or {}).items()}
    query.update(auth_key=key, auth_timestamp=str(timestamp), auth_version="1.0")
    if body:
        query["body_md5"] = body_md5(body)
    query.pop("auth_signature", None)
    ordered = "&".join(f"{k}={query[k]}" for k in sorted(query))
    string_to_sign = f"{method.upper()}\n{path}\n{ordered}"
    query["auth_signature"] = hmac_sha256_hex(secret, string_to_sign)
    return SignedQuery(query, string_to_sign)


def validate_socket_id(socket_id: str) -> str | None:
    """None when valid, else why not."""
    if not SOCKET_ID.match(socket_id):
        return f"socket id {socket_id!r} is not of the form 123.456"
    return None


def validate_channel_name(channel: str) -> str | None:
    """None when valid, else why not (the same rules the Pusher libraries apply)."""
    if not channel:
        return "the channel name is empty"
    if len(channel) > MAX_CHANNEL_NAME:
        return (
            f"the channel name is {len(channel)} characters long; the limit is {MAX_CHANNEL_NAME}"
        )
    if not CHANNEL_NAME.match(channel):
        bad = sorted({c for c in channel if not CHANNEL_NAME.match(c)})
        shown = ", ".join(repr(c) for c in bad[:5])
        return (
            f"the channel name {channel!r} has characters Pusher does not allow ({shown}); "
            "allowed: a-z A-Z 0-9 - _ = @ , . ;"
        )
    return None


def validate_event_name(event: str) -> str | None:
    if not event:
        return "the event name is empty"
    if len(event) > MAX_EVENT_NAME:
        return f"the event name is {len(event)} characters long; the limit is {MAX_EVENT_NAME}"
    return None
