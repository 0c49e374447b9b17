"""Subscription auth for private, presence and encrypted channels: signed here or by the app.

``LocalAuthorizer`` signs with the app secret. ``EndpointAuthorizer`` calls the
app's own auth endpoint exactly as pusher-js and Laravel Echo do (POST,
form fields ``socket_id`` and ``channel_name``) and checks the reply: status,
JSON shape, ``KEY:SIGNATURE`` format, ``channel_data`` as a string, and —
when the secret is known — the signature itself, naming what went wrong.
"""

from __future__ import annotations

import base64
import hmac
import http.client
import json
import re
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from wsdiag import trace
from wsdiag.models import ErrorKind
from wsdiag.pusher.signing import (
    channel_string_to_sign,
    hmac_sha256_hex,
    presence_channel_data,
    sign_channel,
)
from wsdiag.records import record
from wsdiag.target import masked_url

if TYPE_CHECKING:
    from wsdiag.proxy import Proxy

_AUTH_VALUE = re.compile(r"^(?P<key>[^:]+):(?P<sig>[0-9a-f]{64})$")
BODY_PREVIEW = 200


class AuthError(Exception):
    """Auth could not be obtained; ``fix`` says what to do."""

    def __init__(self, kind: ErrorKind, message: str, fix: str, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.kind = kind
        self.fix = fix
        self.details = details


@record
class ChannelAuth:
    """What goes into ``pusher:subscribe`` besides the channel name."""

    auth: str
    channel_data: str | None = None
    shared_secret: str | None = None  # base64, from an auth endpoint for encrypted channels
    elapsed_ms: float = 0.0


def needs_auth(channel: str) -> bool:
    return channel.startswith(("private-", "presence-"))


def is_presence(channel: str) -> bool:
    return channel.startswith("presence-")


@record
class LocalAuthorizer:
    key: str
    secret: str
    user_id: str = "wsdiag"
    user_info: Mapping[str, Any] | None = None

    def authorize(self, socket_id: str, channel: str) -> ChannelAuth:
        data = presence_channel_data(self.user_id, self.user_info) if is_presence(channel) else None
        return ChannelAuth(sign_channel(self.key, self.secret, socket_id, channel, data), data)


@record
class EndpointAuthorizer:
    """The app's auth endpoint (``/broadcasting/auth`` in Laravel, ``/pusher/auth`` often)."""

    url: str
    key: str
    headers: Sequence[tuple[str, str]] = ()
    secret: str | None = None  # when known, the returned signature is checked too
    timeout: float = 5.0
    ca_bundle: str | None = None
    verify_tls: bool = True
    proxy: Proxy | None = None  # the same proxy as every other connection

    def authorize(self, socket_id: str, channel: str) -> ChannelAuth:
        started = time.perf_counter()
        names = ", ".join(name for name, _ in self.headers)
        trace.trace(
            ">>",
            "auth",
            f"POST {masked_url(self.url)} socket_id={socket_id} channel_name={channel}"
            + (f" (headers: {names})" if names else ""),
        )
        status, body, content_type = self._post(socket_id, channel)
        trace.trace("<<", "auth", f"{status} {body[:500].decode('utf-8', 'replace')}")
        elapsed = (time.perf_counter() - started) * 1000
        reply = check_endpoint_reply(status, body, content_type, channel, self.key)
        auth = ChannelAuth(
            reply["auth"], reply.get("channel_data"), reply.get("shared_secret"), round(elapsed, 3)
        )
        if self.secret:
            verify_signature(auth, self.key, self.secret, socket_id, channel)
        return auth

    def _post(self, socket_id: str, channel: str) -> tuple[int, bytes, str]:
        fields = {"socket_id": socket_id, "channel_name": channel}
        return post_form(
            self.url,
            fields,
            headers=self.headers,
            timeout=self.timeout,
            ca_bundle=self.ca_bundle,
            verify_tls=self.verify_tls,
            proxy=self.proxy,
            what="auth endpoint",
        )


def post_form(
    url: str,
    fields: Mapping[str, str],
    *,
    headers: Sequence[tuple[str, str]],
    timeout: float,
    ca_bundle: str | None,
    verify_tls: bool,
    proxy: Proxy | None,
    what: str,
) -> tuple[int, bytes, str]:
    """POST ``fields`` as pusher-js posts to an app endpoint (channel auth, user sign-in),
    through the one dialer (proxy, Happy Eyeballs); (status, body, content type).

    AuthError when no reply came, its cause named by the one classifier.
    """
    from wsdiag.classify import classify_dial
    from wsdiag.dialer import DialError
    from wsdiag.exchange import http_exchange
    from wsdiag.models import Stopwatch
    from wsdiag.target import Endpoint
    from wsdiag.transport import tls_context

    shown = masked_url(url)
    parts = urllib.parse.urlsplit(url)
    secure = parts.scheme == "https"
    endpoint = Endpoint(parts.hostname or "", parts.port or (443 if secure else 80), secure)
    sent = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Accept", "application/json"),
        *headers,
    ]
    if parts.username is not None and not any(n.lower() == "authorization" for n, _ in headers):
        # A browser's XHR sends a URL's user:password as Basic auth, and so does pusher-js's
        # request to this endpoint; an Authorization given with --auth-header wins.
        pair = (
            f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        )
        sent.append(("Authorization", "Basic " + base64.b64encode(pair.encode()).decode()))
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        reply = http_exchange(
            endpoint,
            "POST",
            target,
            body=urllib.parse.urlencode(fields).encode(),
            headers=sent,
            timeout=timeout,
            watch=Stopwatch(),
            tls=tls_context(ca_bundle, verify_tls) if secure else None,
            proxy=proxy,
        )
    except DialError as err:
        found = classify_dial(err, endpoint.host, endpoint.port, timeout)
        raise AuthError(
            ErrorKind.AUTH_ENDPOINT_ERROR,
            f"could not reach the {what} {shown}: {found.summary} [{found.kind}]: {found.cause}",
            f"{found.fix}; test the endpoint with curl -X POST",
            {"url": shown, "kind": str(found.kind)},
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise AuthError(
            ErrorKind.AUTH_ENDPOINT_ERROR,
            f"the {what} {shown} did not answer: {str(exc) or type(exc).__name__}",
            "check that the app is running; test it with curl -X POST",
            {"url": shown},
        ) from None
    return reply.status, reply.body[:100_000], reply.headers.get("content-type", "")


_STATUS_HINTS = {
    302: "the endpoint redirected (usually to a login page): the request is not authenticated — "
    "pass the session cookie or token with --auth-header",
    401: "the app's auth middleware says the request is not authenticated — pass the user's "
    "token or cookie with --auth-header 'Authorization: Bearer …'",
    403: "the app's auth middleware refused: the user may not join this channel (Laravel: the "
    "channel callback in routes/channels.php returned false), or no user is logged in",
    404: "no auth route at this URL (Laravel: /broadcasting/auth exists only with "
    "Broadcast::routes() / the broadcasting install step)",
    419: "Laravel rejected the CSRF token (419): send X-CSRF-TOKEN or X-XSRF-TOKEN "
    "with --auth-header",
    500: "the app crashed while signing: check its logs (often a missing PUSHER_APP_SECRET)",
}


def check_endpoint_reply(
    status: int, body: bytes, content_type: str, channel: str, key: str
) -> dict[str, Any]:
    """The reply as pusher-js needs it, or AuthError saying exactly what is wrong."""
    preview = body[:BODY_PREVIEW].decode("utf-8", "replace")
    details: dict[str, Any] = {"status": status, "content_type": content_type, "body": preview}
    if status != 200:
        hint = _STATUS_HINTS.get(status if status not in (301, 303, 307, 308) else 302)
        raise AuthError(
            ErrorKind.AUTH_ENDPOINT_ERROR,
            f"the auth endpoint answered HTTP {status}",
            hint or 'the endpoint must answer 200 with {"auth": "KEY:SIGNATURE"}',
            details,
        )
    try:
        reply = json.loads(body)
    except ValueError:
        raise AuthError(
            ErrorKind.AUTH_ENDPOINT_ERROR,
            "the auth endpoint's reply is not JSON",
            'return JSON such as {"auth": "KEY:SIGNATURE"} (an HTML page here is often a '
            "login page or an error page)",
            details,
        ) from None
    if not isinstance(reply, dict) or not isinstance(reply.get("auth"), str):
        raise AuthError(
            ErrorKind.AUTH_ENDPOINT_ERROR,
            'the auth endpoint\'s JSON has no "auth" string',
            'return {"auth": "KEY:SIGNATURE"} (presence channels add "channel_data")',
            details,
        )
    match = _AUTH_VALUE.match(reply["auth"])
    if not match:
        raise AuthError(
            ErrorKind.AUTH_ENDPOINT_ERROR,
            f'"auth" is not KEY:SIGNATURE (64 hex digits): {reply["auth"][:40]!r}',
            "sign with the Pusher server library (socket_id:channel_name, HMAC-SHA256 hex)",
            details,
        )
    if match["key"] != key:
        raise AuthError(
            ErrorKind.AUTH_SIGNATURE_MISMATCH,
            f"the endpoint signed with app key {match['key']!r}, but this connection uses {key!r}",
            "the app's server and this client use different Pusher apps: align PUSHER_APP_KEY",
            details,
        )
    if is_presence(channel):
        _check_presence_data(reply, details)
    return reply


def _check_presence_data(reply: dict[str, Any], details: dict[str, Any]) -> None:
    data = reply.get("channel_data")
    if not isinstance(data, str):
        got = "missing" if data is None else f"a JSON {type(data).__name__}, not a string"
        raise AuthError(
            ErrorKind.AUTH_ENDPOINT_ERROR,
            f'presence auth needs "channel_data" as a JSON-encoded string; it is {got}',
            "return channel_data as the exact string that was signed, e.g. "
            '"{\\"user_id\\":\\"1\\"}"',
            details,
        )
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or "user_id" not in parsed:
        raise AuthError(
            ErrorKind.AUTH_ENDPOINT_ERROR,
            '"channel_data" is not a JSON object with a user_id',
            'channel_data must encode {"user_id": …, "user_info": {…}}',
            details,
        )


def verify_signature(
    auth: ChannelAuth, key: str, secret: str, socket_id: str, channel: str
) -> None:
    """Check the endpoint's signature with our secret; on a mismatch, find what it signed."""
    expected = sign_channel(key, secret, socket_id, channel, auth.channel_data)
    if hmac.compare_digest(expected, auth.auth):
        return
    got = auth.auth.split(":", 1)[1]
    # Common wrong strings: presence data left out or added, channel without the socket id.
    candidates = {
        "socket_id:channel_name (without channel_data)": channel_string_to_sign(socket_id, channel),
        "channel_name:socket_id (reversed)": f"{channel}:{socket_id}",
        "socket_id only": socket_id,
    }
    for description, text in candidates.items():
        if hmac.compare_digest(hmac_sha256_hex(secret, text), got):
            raise AuthError(
                ErrorKind.AUTH_SIGNATURE_MISMATCH,
                f"the endpoint signed the wrong string: {description}",
                f"sign exactly {channel_string_to_sign(socket_id, channel, auth.channel_data)!r}",
                {"signed": description},
            )
    raise AuthError(
        ErrorKind.AUTH_SIGNATURE_MISMATCH,
        "the endpoint's signature does not match this app's secret",
        "the app signs with a different secret (another app, or a stale PUSHER_APP_SECRET in its "
        ".env / config cache): align the secret with the one for this key",
        {"string_to_sign": channel_string_to_sign(socket_id, channel, auth.channel_data)},
    )
