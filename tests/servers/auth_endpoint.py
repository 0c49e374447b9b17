"""An app's channel auth endpoint, as a Laravel or Express app serves it, with faults on demand.

The good mode signs with the official ``pusher`` library (an independent
oracle); the others reproduce what users' endpoints get wrong.
"""

from __future__ import annotations

import contextlib
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pusher

from tests.servers.http import serve
from wsdiag.pusher.signing import hmac_sha256_hex


@dataclass
class AuthApp:
    app_id: str
    key: str
    secret: str
    mode: str = "good"
    requests: list[dict[str, str]] = field(default_factory=list)  # form fields + headers seen


def _reply(app: AuthApp, form: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    channel, socket_id = form.get("channel_name", ""), form.get("socket_id", "")
    client = pusher.Pusher(app_id=app.app_id, key=app.key, secret=app.secret)
    presence = {"user_id": "7", "user_info": {"name": "Ada"}}
    if app.mode == "user":  # pusher-js userAuthentication: socket_id only (issue 10 §3)
        body = client.authenticate_user(socket_id=socket_id, user_data={"id": "42"})
        return 200, json.dumps(body).encode(), {"Content-Type": "application/json"}
    if app.mode == "forbidden":
        return 403, b'{"message":"This action is unauthorized."}', {}
    if app.mode == "redirect":
        return 302, b"", {"Location": "/login"}
    if app.mode == "malformed":
        return 200, b"<html>Whoops</html>", {"Content-Type": "text/html"}
    if app.mode == "wrong_secret":
        other = pusher.Pusher(app_id=app.app_id, key=app.key, secret="not-the-secret")
        body = other.authenticate(
            channel=channel,
            socket_id=socket_id,
            custom_data=presence if channel.startswith("presence-") else None,
        )
        return 200, json.dumps(body).encode(), {}
    if app.mode == "reversed_string":
        signature = hmac_sha256_hex(app.secret, f"{channel}:{socket_id}")
        return 200, json.dumps({"auth": f"{app.key}:{signature}"}).encode(), {}
    if app.mode == "presence_object":
        body = client.authenticate(channel=channel, socket_id=socket_id, custom_data=presence)
        body["channel_data"] = json.loads(body["channel_data"])  # an object, not the signed string
        return 200, json.dumps(body).encode(), {}
    custom = presence if channel.startswith("presence-") else None
    body = client.authenticate(channel=channel, socket_id=socket_id, custom_data=custom)
    return 200, json.dumps(body).encode(), {"Content-Type": "application/json"}


def _handler(app: AuthApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            length = int(self.headers.get("Content-Length", 0))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            app.requests.append(
                {**form, **{f"header:{k.lower()}": v for k, v in self.headers.items()}}
            )
            status, body, headers = _reply(app, form)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextlib.contextmanager
def auth_endpoint(app: AuthApp) -> Iterator[str]:
    """Serve ``app`` on a loopback port; yields the endpoint URL."""
    with serve(_handler(app)) as port:
        yield f"http://127.0.0.1:{port}/broadcasting/auth"
