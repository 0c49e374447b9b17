"""User sign-in (``pusher:signin``) and the 30-second kick of servers that want one (issue 10 §3).

Pusher with "authorized connections" on, and soketi with user authentication on
(``SOKETI_DEFAULT_APP_USER_AUTHENTICATION=true``; ``SOKETI_USER_AUTHENTICATION_TIMEOUT``,
30000 ms by default), close a connection that has not signed in (or subscribed
to a private channel) within ~30 s: soketi with 4009 "Connection not authorized
within timeout.". ``tail --signin`` signs in as pusher-js's ``signin()`` does:
locally with the secret, or through the app's user-auth endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from wsdiag.channels.auth import AuthError, post_form
from wsdiag.models import ErrorKind
from wsdiag.pusher.signing import sign_user
from wsdiag.records import record
from wsdiag.target import masked_url

if TYPE_CHECKING:
    from wsdiag.proxy import Proxy

KICK_WINDOW_S = (25.0, 35.0)  # the 30-second kick (PUSHER-PROTOCOL.md, "Timers")
KICK_CODES = frozenset({4009})


def kick_text() -> tuple[str, str]:
    """(cause, fix) of the 30-second kick: ``wsdiag explain pusher_auth_timeout``'s words,
    the same that soak gives."""
    from wsdiag.explain import kind_text

    _, cause, fix = kind_text(ErrorKind.PUSHER_AUTH_TIMEOUT)
    return cause, fix


def is_auth_kick(code: int | None, lived_s: float, reason: str | None) -> bool:
    """A close that is the 30-second kick: 4009 after 25–35 s (or soketi's words, any time)."""
    low, high = KICK_WINDOW_S
    named = "not authorized within" in (reason or "")  # soketi's, whatever timeout it has
    return code in KICK_CODES and (low <= lived_s <= high or named)


class UserSigner(Protocol):
    def sign_in(self, socket_id: str) -> tuple[str, str]:
        """``(auth, user_data)`` for ``pusher:signin``; AuthError when that fails."""
        ...


@record
class LocalSigner:
    key: str
    secret: str
    user_data: str  # the JSON string, sent and signed exactly as given

    def sign_in(self, socket_id: str) -> tuple[str, str]:
        return sign_user(self.key, self.secret, socket_id, self.user_data), self.user_data


@record
class EndpointSigner:
    """The app's user-auth endpoint (pusher-js ``userAuthentication``: POST ``socket_id``)."""

    url: str
    key: str
    headers: Sequence[tuple[str, str]] = ()
    secret: str | None = None  # when known, the returned signature is checked
    timeout: float = 5.0
    ca_bundle: str | None = None
    verify_tls: bool = True
    proxy: Proxy | None = None

    def sign_in(self, socket_id: str) -> tuple[str, str]:
        status, body = self._post(socket_id)
        if status != 200:
            raise AuthError(
                ErrorKind.AUTH_ENDPOINT_ERROR,
                f"the user-auth endpoint {masked_url(self.url)} answered {status}",
                "check the endpoint (Laravel: Broadcast::routes() and a logged-in user); pass "
                "the session cookie or token with --auth-header",
                {"url": masked_url(self.url), "status": status},
            )
        reply = _json_object(body)
        auth, user_data = reply.get("auth"), reply.get("user_data")
        if not isinstance(auth, str) or not isinstance(user_data, str):
            raise AuthError(
                ErrorKind.AUTH_ENDPOINT_ERROR,
                f"the user-auth endpoint {masked_url(self.url)} did not reply "
                '{"auth": "KEY:SIGNATURE", "user_data": "<JSON string>"}',
                "return what the Pusher server library's authenticateUser() returns",
                {"url": masked_url(self.url)},
            )
        if self.secret and auth != sign_user(self.key, self.secret, socket_id, user_data):
            raise AuthError(
                ErrorKind.AUTH_SIGNATURE_MISMATCH,
                "the user-auth endpoint's signature does not match this key and secret",
                "the app signs with another app's key or secret: compare PUSHER_APP_KEY and "
                "PUSHER_APP_SECRET on both sides",
                {"url": masked_url(self.url)},
            )
        return auth, user_data

    def _post(self, socket_id: str) -> tuple[int, bytes]:
        status, body, _ = post_form(
            self.url,
            {"socket_id": socket_id},
            headers=self.headers,
            timeout=self.timeout,
            ca_bundle=self.ca_bundle,
            verify_tls=self.verify_tls,
            proxy=self.proxy,
            what="user-auth endpoint",
        )
        return status, body


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
