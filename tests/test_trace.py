"""``--debug``: the WebSocket upgrade shown as ``curl -v`` shows it, credentials masked (issue 14).

The traced request is compared with the bytes the server received, the traced
reply with the bytes it sent; check, connect and tail all show it against soketi.
"""

from __future__ import annotations

import io
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.faults.harness import run_wsdiag
from tests.servers.pusher_script import Script, established, scripted_server
from tests.servers.soketi import Soketi
from wsdiag import trace
from wsdiag.checks import CheckOptions
from wsdiag.checks.websocket import open_pusher
from wsdiag.target import Endpoint

OPTIONS = CheckOptions(timeout=2, ping_count=0)


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """A trace of this test only, into a string (the process-wide state is restored after)."""
    monkeypatch.setattr(trace, "_state", trace._Tracer())
    stream = io.StringIO()
    trace.enable(stream)
    yield stream


def blocks(text: str) -> dict[str, list[str]]:
    """Title of each traced head → its ``> ``/``< `` lines."""
    found: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith("["):
            current = found.setdefault(line.split(": ", 1)[1], [])
        elif line.startswith(("> ", "< ")):
            current.append(line)
    return found


# ------------------------------------------------------------------ masking


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "Authorization: Bearer …"),
        ("authorization: Basic dXNlcjpwYXNz", "authorization: Basic …"),
        ("Authorization: rawtoken123", "Authorization: …"),
        ("Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: Basic …"),
        ("Cookie: laravel_session=abc; XSRF-TOKEN=def", "Cookie: …"),
        ("Set-Cookie: AWSALB=sticky123; Path=/", "Set-Cookie: …"),
        ("X-CSRF-Token: 9f8e7d", "X-CSRF-Token: …"),
        ("X-Auth-Token: t0k3n", "X-Auth-Token: …"),
        ("X-Api-Key: k3y", "X-Api-Key: …"),
        ("X-Session-Id: s3ss", "X-Session-Id: …"),
        # Not credentials: shown as they are, as curl -v shows them.
        (
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        ),
        ("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", None),
        ("Host: ws-mt1.pusher.com", None),
        ("GET /app/278d425bdf160c739803?protocol=7&client=wsdiag HTTP/1.1", None),
        ("HTTP/1.1 101 Switching Protocols", None),
    ],
)
def test_credential_headers_are_masked(line: str, shown: str | None) -> None:
    assert trace.mask_header(line) == (shown or line)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "POST https://bob:hunter22@app.test/broadcasting/auth",
            "POST https://bob:***@app.test/broadcasting/auth",
        ),
        (
            '{"auth":"k:0123abcd4567ef89","shared_secret":"c2VjcmV0"}',
            '{"auth":"k:0123…","shared_secret":"…"}',
        ),
        # Ports are not passwords.
        ("wss://ws-mt1.pusher.com:443/app/key?protocol=7", None),
        ("http://127.0.0.1:80/x@y", None),
    ],
)
def test_urls_passwords_and_channel_keys_are_masked(text: str, shown: str | None) -> None:
    assert trace.redact(text) == (shown or text)


def test_a_head_is_one_block_as_curl_shows_it(traced: io.StringIO) -> None:
    trace.add_secret("registered-secret-value")
    trace.http_head(
        ">>",
        "ws://h:1 via 127.0.0.1",
        "WebSocket upgrade request",
        b"GET /app/k HTTP/1.1\r\nHost: h:1\r\nCookie: a=b\r\n"
        b"X-Note: registered-secret-value\r\n\r\nbody bytes",
    )
    trace.http_head("<<", "ws://h:1 via 127.0.0.1", "upgrade response", b"HTTP/1.1 403 No\r\n\r\n")
    lines = traced.getvalue().splitlines()
    assert lines[0].endswith("] >> ws://h:1 via 127.0.0.1: WebSocket upgrade request")
    assert lines[1:5] == ["> GET /app/k HTTP/1.1", "> Host: h:1", "> Cookie: …", "> X-Note: reg…"]
    assert lines[5].endswith("] << ws://h:1 via 127.0.0.1: upgrade response")
    assert lines[6:] == ["< HTTP/1.1 403 No"]  # the body is not part of the head


def test_nothing_is_written_when_the_trace_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace, "_state", trace._Tracer())
    trace.http_head(">>", "x", "request", b"GET / HTTP/1.1\r\n\r\n")  # no stream: no error either


# ------------------------------------------------------------------ the upgrade, byte for byte


def test_the_traced_upgrade_is_what_went_over_the_wire(traced: io.StringIO) -> None:
    with scripted_server(Script(actions=[established()])) as server:
        result, session = open_pusher(
            Endpoint("127.0.0.1", server.port, False), "127.0.0.1", "app-key", OPTIONS
        )
        assert session is not None, result
        session.close()
        received = server.requests[0]
    shown = blocks(traced.getvalue())
    sent = [line for line in received.split("\r\n") if line]
    assert shown["WebSocket upgrade request"] == ["> " + line for line in sent]
    assert sent[0].startswith("GET /app/app-key?protocol=7&client=wsdiag&version=")
    reply = shown["upgrade response"]
    assert reply[0] == "< HTTP/1.1 101 Switching Protocols"
    assert "< Upgrade: websocket" in reply and any(
        r.startswith("< Sec-WebSocket-Accept: ") for r in reply
    )
    # The head comes before the first frame, as on the wire.
    text = traced.getvalue()
    assert text.index("upgrade response") < text.index("pusher:connection_established")


def test_a_refused_upgrade_shows_its_headers_with_cookies_masked(traced: io.StringIO) -> None:
    reply = (
        b"HTTP/1.1 403 Forbidden\r\nServer: edge-waf\r\n"
        b"Set-Cookie: waf_session=c00kie-v4lue; Path=/\r\n"
        b'WWW-Authenticate: Bearer realm="api"\r\nContent-Length: 9\r\n\r\nforbidden'
    )
    with scripted_server(Script(upgrade_reply=reply)) as server:
        result, _ = open_pusher(
            Endpoint("127.0.0.1", server.port, False), "127.0.0.1", "app-key", OPTIONS
        )
    assert result.summary.startswith("HTTP 403")
    text = traced.getvalue()
    assert blocks(text)["upgrade response"] == [
        "< HTTP/1.1 403 Forbidden",
        "< Server: edge-waf",
        "< Set-Cookie: …",
        '< WWW-Authenticate: Bearer realm="api"',
        "< Content-Length: 9",
    ]
    assert "c00kie-v4lue" not in text


def test_over_tls_the_trace_shows_the_request_inside_the_tunnel(
    traced: io.StringIO, tmp_path: Path
) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    options = CheckOptions(timeout=2, ping_count=0, ca_bundle=str(bundle))
    with scripted_server(Script(actions=[established()]), tls=server_context) as server:
        result, session = open_pusher(
            Endpoint("127.0.0.1", server.port, True), "127.0.0.1", "app-key", options
        )
        assert session is not None, result
        session.close()
    shown = blocks(traced.getvalue())
    assert shown["WebSocket upgrade request"][0].startswith("> GET /app/app-key?protocol=7")
    assert shown["upgrade response"][0] == "< HTTP/1.1 101 Switching Protocols"
    assert (
        f"wss://127.0.0.1:{server.port} via 127.0.0.1: WebSocket upgrade request"
        in traced.getvalue()
    )


# ------------------------------------------------------------------ every command that connects


@pytest.mark.soketi
@pytest.mark.parametrize("command", ["check", "connect", "tail"])
def test_debug_shows_the_upgrade_in_every_command(
    soketi: Soketi, command: str, tmp_path: Path
) -> None:
    credentials = ["--app-id", soketi.app_id, "--key", soketi.key, "--secret", soketi.secret]
    extra = {
        "check": [*credentials, "--events", "1"],
        "connect": ["--key", soketi.key],
        "tail": ["private-room", *credentials, "--duration", "1"],
    }[command]
    if command == "tail":
        args = ["tail", soketi.ws_url, *extra, "--debug"]
    else:
        args = [command, soketi.ws_url, *extra, "--debug", "--timeout", "3"]
    outcome = run_wsdiag(*args, home=tmp_path)
    assert outcome.exit_code == 0, outcome.describe()
    shown = blocks(outcome.stderr)
    request = shown.get("WebSocket upgrade request", [])
    assert request and request[0].startswith(f"> GET /app/{soketi.key}?protocol=7&client=wsdiag"), (
        outcome.describe()
    )
    assert f"> Host: 127.0.0.1:{soketi.port}" in request
    assert shown["upgrade response"][0] == "< HTTP/1.1 101 Switching Protocols", outcome.describe()
    assert soketi.secret not in outcome.stderr
