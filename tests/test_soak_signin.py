"""The 30-second kick and `tail --signin` (issue 10 §3): soketi with user authentication on."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner, Result

from tests.servers.auth_endpoint import AuthApp, auth_endpoint
from tests.servers.soketi import start_soketi
from wsdiag.channels.signin import LocalSigner, is_auth_kick
from wsdiag.cli import cli
from wsdiag.pusher.frames import signin_frame

KEY, SECRET = "278d425bdf160c739803", "7ad3773142a6692b25b8"
# soketi's kick after 2 s instead of 30 (SOKETI_USER_AUTHENTICATION_TIMEOUT, milliseconds); its
# reason names the kick at any timeout. tests/faults/test_soak_faults.py waits the real 30 s.
USER_AUTH = {
    "SOKETI_DEFAULT_APP_USER_AUTHENTICATION": "true",
    "SOKETI_USER_AUTHENTICATION_TIMEOUT": "2000",
}


def test_local_signin_matches_the_vector() -> None:
    auth, user_data = LocalSigner(KEY, SECRET, '{"id":"12345"}').sign_in("1234.1234")
    assert auth == f"{KEY}:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
    assert json.loads(signin_frame(auth, user_data)) == {
        "event": "pusher:signin",
        "data": {"auth": auth, "user_data": '{"id":"12345"}'},
    }


@pytest.mark.parametrize(
    ("code", "lived", "reason", "kick"),
    [
        (4009, 30.0, "", True),
        (4009, 24.0, "", False),
        (4009, 36.0, "", False),
        (4009, 2.0, "Connection not authorized within timeout.", True),
        (1006, 30.0, "", False),
        (4201, 30.0, "", False),
    ],
)
def test_what_counts_as_the_kick(code: int, lived: float, reason: str, kick: bool) -> None:
    assert is_auth_kick(code, lived, reason) is kick


def tail(url: str, *args: str) -> Result:
    clean = {k: None for k in os.environ if k.startswith(("PUSHER_", "WSDIAG_", "GITHUB_"))}
    return CliRunner().invoke(cli, ["tail", url, "my-channel", *args], env=clean)


@pytest.mark.soketi
def test_tail_names_the_kick_and_signin_avoids_it() -> None:
    with start_soketi(**USER_AUTH) as server:
        kicked = tail(server.ws_url, "--key", server.key, "--duration", "6")
        signed = tail(
            server.ws_url,
            *("--key", server.key, "--secret", server.secret, "--app-id", server.app_id),
            *("--signin", '{"id":"42"}', "--duration", "3.5"),
        )
        app = AuthApp(server.app_id, server.key, server.secret, mode="user")
        with auth_endpoint(app) as url:
            endpoint = tail(
                server.ws_url,
                *("--key", server.key, "--user-auth-endpoint", url, "--duration", "3.5"),
            )
    assert kicked.exit_code == 1, kicked.output
    assert "the 30-second kick" in kicked.stderr
    assert "SOKETI_DEFAULT_APP_USER_AUTHENTICATION" in kicked.stderr
    assert "--signin" in kicked.stderr
    for run in (signed, endpoint):
        assert run.exit_code == 0, run.output
        assert "signed in as user 42" in run.stderr
        assert "kick" not in run.stderr
        assert server.secret not in run.output
    assert app.requests[0]["socket_id"] and "channel_name" not in app.requests[0]


def test_signin_usage_errors() -> None:
    no_secret = tail("ws://127.0.0.1:1", "--key", "k", "--signin", '{"id":"1"}')
    assert no_secret.exit_code == 2 and "--secret" in no_secret.output
    no_id = tail("ws://127.0.0.1:1", "--key", "k", "--secret", "s", "--signin", "{}")
    assert no_id.exit_code == 2 and '"id"' in no_id.output
