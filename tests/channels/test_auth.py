"""Subscription auth through the app's own endpoint: good replies and every way they go wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers.auth_endpoint import AuthApp, auth_endpoint
from tests.servers.soketi import Soketi
from wsdiag.channels.auth import AuthError, EndpointAuthorizer, LocalAuthorizer
from wsdiag.models import ErrorKind
from wsdiag.pusher.signing import sign_channel

ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "app-key", "app-secret"


def authorize(mode: str, channel: str = "private-x", secret: str | None = SECRET):
    app = AuthApp("1", KEY, SECRET, mode)
    with auth_endpoint(app) as url:
        authorizer = EndpointAuthorizer(url, KEY, [("Authorization", "Bearer tok-123")], secret)
        return authorizer.authorize("123.456", channel), app


def failure(mode: str, channel: str = "private-x", secret: str | None = SECRET) -> AuthError:
    with pytest.raises(AuthError) as caught:
        authorize(mode, channel, secret)
    assert caught.value.fix
    return caught.value


def test_good_reply_is_checked_and_accepted() -> None:
    auth, app = authorize("good")
    assert auth.auth == sign_channel(KEY, SECRET, "123.456", "private-x")
    request = app.requests[0]
    assert (request["socket_id"], request["channel_name"]) == ("123.456", "private-x")
    assert request["header:authorization"] == "Bearer tok-123"
    assert request["header:content-type"] == "application/x-www-form-urlencoded"


def test_good_presence_reply() -> None:
    auth, _ = authorize("good", "presence-room")
    assert json.loads(auth.channel_data or "") == {"user_id": "7", "user_info": {"name": "Ada"}}


def test_403_from_the_apps_middleware() -> None:
    error = failure("forbidden")
    assert error.kind is ErrorKind.AUTH_ENDPOINT_ERROR
    assert "403" in str(error) and "routes/channels.php" in error.fix


def test_redirect_to_a_login_page() -> None:
    error = failure("redirect")
    assert "302" in str(error) and "login" in error.fix


def test_malformed_json() -> None:
    error = failure("malformed")
    assert "not JSON" in str(error)
    assert error.details["body"].startswith("<html>")


def test_signed_with_the_wrong_secret() -> None:
    error = failure("wrong_secret")
    assert error.kind is ErrorKind.AUTH_SIGNATURE_MISMATCH
    assert "different secret" in error.fix


def test_wrong_secret_goes_unnoticed_without_our_secret() -> None:
    auth, _ = authorize("wrong_secret", secret=None)  # nothing to check against: the server will
    assert auth.auth.startswith(f"{KEY}:")


def test_signed_the_wrong_string() -> None:
    error = failure("reversed_string")
    assert "wrong string" in str(error) and "reversed" in str(error)


def test_presence_channel_data_as_an_object() -> None:
    error = failure("presence_object", "presence-room")
    assert "JSON-encoded string" in str(error)


def test_unreachable_endpoint() -> None:
    authorizer = EndpointAuthorizer("http://127.0.0.1:9/auth", KEY, (), SECRET, timeout=2)
    with pytest.raises(AuthError, match="could not reach"):
        authorizer.authorize("1.2", "private-x")


def test_local_presence_signature() -> None:
    auth = LocalAuthorizer(KEY, SECRET, "u1", {"n": 1}).authorize("1.2", "presence-p")
    assert auth.channel_data == '{"user_id":"u1","user_info":{"n":1}}'
    assert auth.auth == sign_channel(KEY, SECRET, "1.2", "presence-p", auth.channel_data)


def run_tail(
    server: Soketi, url: str, *channels: str, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUSHER_")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "wsdiag",
            "tail",
            server.ws_url,
            *channels,
            "--key",
            server.key,
            "--auth-endpoint",
            url,
            "--auth-header",
            "Cookie: session=abc123",
            "--duration",
            "1.5",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )


@pytest.mark.soketi
def test_tail_through_the_auth_endpoint_against_soketi(soketi: Soketi) -> None:
    app = AuthApp(soketi.app_id, soketi.key, soketi.secret, "good")
    with auth_endpoint(app) as url:
        started = time.monotonic()
        proc = run_tail(soketi, url, "private-a", "presence-b")
    assert proc.returncode == 0, proc.stderr
    assert "subscribed private-a" in proc.stderr
    assert "subscribed presence-b: subscribed to presence-b (1 member(s))" in proc.stderr
    assert "member 7" in proc.stderr
    assert app.requests[0]["header:cookie"] == "session=abc123"
    assert time.monotonic() - started < 15


@pytest.mark.soketi
def test_tail_reports_a_failing_auth_endpoint_and_exits_1(soketi: Soketi) -> None:
    app = AuthApp(soketi.app_id, soketi.key, soketi.secret, "forbidden")
    with auth_endpoint(app) as url:
        proc = run_tail(soketi, url, "private-a", "public-ok")
    assert proc.returncode == 1
    assert "subscription_error private-a" in proc.stderr
    assert "HTTP 403" in proc.stderr
    assert "subscribed public-ok" in proc.stderr  # the other channels still work
    assert "failed subscriptions: private-a" in proc.stderr
    assert "abc123" not in proc.stderr + proc.stdout


@pytest.mark.parametrize(
    ("credentials", "headers", "expected"),
    [
        ("ada:s%40cret@", (), "Basic YWRhOnNAY3JldA=="),  # ada:s@cret, as a browser's XHR sends it
        ("ada:pw@", (("Authorization", "Bearer t"),), "Bearer t"),  # --auth-header wins
        ("", (), None),
    ],
)
def test_a_url_password_is_sent_as_basic_auth(
    credentials: str, headers: tuple[tuple[str, str], ...], expected: str | None
) -> None:
    from wsdiag.channels.auth import post_form

    app = AuthApp("1", "key", SECRET)
    with auth_endpoint(app) as url:
        post_form(
            url.replace("://", f"://{credentials}", 1),
            {"socket_id": "1.2", "channel_name": "private-x"},
            headers=headers,
            timeout=3,
            ca_bundle=None,
            verify_tls=True,
            proxy=None,
            what="auth endpoint",
        )
    assert app.requests[0].get("header:authorization") == expected
