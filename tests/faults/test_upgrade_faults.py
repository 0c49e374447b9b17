"""WebSocket upgrade faults through `wsdiag check`: a scripted server, tinyproxy before soketi."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.faults.harness import (
    GRACE_S,
    Outcome,
    credentials,
    expect,
    run_json,
    run_wsdiag,
    start_wsdiag,
    startup_s,
)
from tests.servers.nginx import start_nginx, upgrade_proxy
from tests.servers.proxy import reverse_proxy
from tests.servers.pusher_script import Script, established, scripted_server
from tests.servers.soketi import Soketi
from tests.servers.tls import tls_server

TIMEOUT = 1.0


def http(status: str, body: bytes = b"", headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\n{headers}".encode() + b"\r\n" + body


def check(port: int, home: Path, key: str = "app-key") -> Outcome:
    return run_json("check", f"ws://127.0.0.1:{port}", "--key", key, timeout=TIMEOUT, home=home)


@pytest.mark.parametrize(
    ("fault", "reply", "words"),
    [
        ("upgrade.400", http("400 Bad Request", b"no", "Content-Length: 2\r\n"), "Upgrade"),
        ("upgrade.403", http("403 Forbidden", b"", "Content-Length: 0\r\n"), "forbidden"),
        ("upgrade.404", http("404 Not Found", b"nope", "Content-Length: 4\r\n"), "/app/KEY"),
        ("upgrade.426", http("426 Upgrade Required", b"", "Content-Length: 0\r\n"), "426"),
        (
            "upgrade.captive_portal",
            http(
                "200 OK",
                b"<html><body>Log in to CafeWiFi</body></html>",
                "Content-Type: text/html\r\n",
            ),
            "captive portal",
        ),
        (
            "upgrade.redirect",
            http("302 Found", b"", "Location: http://login.cafe.test/\r\nContent-Length: 0\r\n"),
            "login.cafe.test",
        ),
    ],
)
def test_upgrade_replies(tmp_path: Path, fault: str, reply: bytes, words: str) -> None:
    with scripted_server(Script(upgrade_reply=reply)) as server:
        outcome = check(server.port, tmp_path)
    record = expect(fault, outcome, within=TIMEOUT)
    assert words in record["summary"] + record["cause"]


def test_server_that_never_answers_the_upgrade(tmp_path: Path) -> None:
    with scripted_server(Script(silent=True)) as server:
        outcome = check(server.port, tmp_path)
    expect("upgrade.silent", outcome, within=TIMEOUT)


@pytest.mark.soketi
def test_proxy_that_strips_the_upgrade_headers(tmp_path: Path, soketi: Soketi) -> None:
    with reverse_proxy(soketi.port, tmp_path) as port:
        outcome = check(port, tmp_path, key=soketi.key)
    record = expect("upgrade.proxy_strips_upgrade", outcome, within=TIMEOUT)
    assert "Upgrade: websocket" in record["cause"]
    assert "tinyproxy" in record["cause"]  # the Via header names the proxy
    assert "proxy_set_header Upgrade" in record["fix"]


@pytest.mark.soketi
def test_soketi_directly_is_fine(tmp_path: Path, soketi: Soketi) -> None:
    """The control for the proxy test: the same server without the proxy connects."""
    outcome = check(soketi.port, tmp_path, key=soketi.key)
    assert outcome.exit_code == 0, outcome.describe()


# ---- ws:// sent to a TLS port (issue 9, defect 6) -------------------------------------------

NGINX_TLS_TO_SOKETI = """
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {cert};
    location / {{ %s }}
"""


def assert_says_use_wss(record: dict[str, object], port: int) -> None:
    assert record["stage"] == "websocket"
    assert f"wss://127.0.0.1:{port}" in str(record["fix"])
    assert "PUSHER_SCHEME=http and PUSHER_PORT=443" in str(record["fix"])
    assert "stripped" not in str(record["cause"])  # the old, wrong diagnosis


@pytest.mark.soketi
def test_ws_to_nginx_tls_port(tmp_path: Path, soketi: Soketi) -> None:
    """nginx terminating TLS for soketi: ws:// gets nginx's 400, wss:// connects."""
    server = NGINX_TLS_TO_SOKETI % upgrade_proxy(soketi.port)
    with start_nginx(tmp_path, server) as nginx:
        outcome = check(nginx.port, tmp_path, key=soketi.key)
        control = run_json(
            "check",
            f"wss://127.0.0.1:{nginx.port}",
            "--key",
            soketi.key,
            "--ca-bundle",
            nginx.ca_bundle,
            timeout=TIMEOUT,
            home=tmp_path,
        )
    record = expect("upgrade.plain_to_tls_nginx", outcome, within=TIMEOUT)
    assert "The plain HTTP request was sent to HTTPS port" in str(record["cause"])
    assert "nginx" in str(record["cause"])
    assert_says_use_wss(record, nginx.port)
    assert control.exit_code == 0, control.describe()  # the fix works


@pytest.mark.soketi
def test_laravel_env_with_http_scheme_on_the_tls_port(tmp_path: Path, soketi: Soketi) -> None:
    """PUSHER_SCHEME=http with the TLS port, as a Laravel .env has it: named up front too."""
    server = NGINX_TLS_TO_SOKETI % upgrade_proxy(soketi.port)
    env_file = tmp_path / ".env"
    with start_nginx(tmp_path, server) as nginx:
        env_file.write_text(
            f"PUSHER_HOST=127.0.0.1\nPUSHER_PORT={nginx.port}\nPUSHER_SCHEME=http\n"
            f"PUSHER_APP_KEY={soketi.key}\n"
        )
        outcome = run_json("check", "--env-file", str(env_file), timeout=TIMEOUT, home=tmp_path)
    record = expect("upgrade.plain_to_tls_nginx", outcome, within=TIMEOUT)
    assert_says_use_wss(record, nginx.port)


def test_ws_to_port_443_is_named_up_front(tmp_path: Path) -> None:
    """PUSHER_SCHEME=http with PUSHER_PORT=443: a note before anything is sent."""
    outcome = run_wsdiag(
        "resolve",
        "--json",
        home=tmp_path,
        env={"PUSHER_HOST": "127.0.0.1", "PUSHER_PORT": "443", "PUSHER_SCHEME": "http"},
    )
    notes = outcome.report()["notes"]
    assert any("PUSHER_SCHEME=http with PUSHER_PORT=443" in n and "wss://" in n for n in notes), (
        outcome.describe()
    )


APACHE_400 = (
    b"<p>Your browser sent a request that this server could not understand.<br />\n"
    b"Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n"
    b" Instead use the HTTPS scheme to access this URL, please.<br />\n</p>"
)
TOMCAT_400 = b"Bad Request\nThis combination of host and port requires TLS.\n"


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (  # Go's net/http (Caddy, Traefik): no Content-Length, the body follows
            b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n",
            "Client sent an HTTP request to an HTTPS server",
        ),
        (
            http(
                "400 Bad Request",
                APACHE_400,
                f"Server: Apache/2.4.57\r\nContent-Length: {len(APACHE_400)}\r\n",
            ),
            "speaking plain HTTP to an SSL-enabled server port",
        ),
        (
            http("400 ", TOMCAT_400, f"Content-Length: {len(TOMCAT_400)}\r\n"),
            "This combination of host and port requires TLS",
        ),
    ],
)
def test_ws_to_other_servers_tls_ports(tmp_path: Path, reply: bytes, words: str) -> None:
    with scripted_server(Script(upgrade_reply=reply)) as server:
        outcome = check(server.port, tmp_path)
    record = expect("upgrade.plain_to_tls_words", outcome, within=TIMEOUT)
    assert words in str(record["cause"])
    assert_says_use_wss(record, server.port)


@pytest.mark.parametrize(
    "alert",
    [
        b"\x15\x03\x03\x00\x02\x02\x46",  # fatal protocol_version, then the server closes
        b"\x15\x03\x01\x00\x02\x02\x0a",  # fatal unexpected_message: 0x0a ends a "line"
    ],
)
def test_ws_to_a_tls_port_that_answers_with_an_alert(tmp_path: Path, alert: bytes) -> None:
    with scripted_server(Script(upgrade_reply=alert)) as server:
        outcome = check(server.port, tmp_path)
    record = expect("upgrade.plain_to_tls_alert", outcome, within=TIMEOUT)
    assert "TLS alert" in str(record["cause"])
    assert alert[:3].hex(" ") in str(record["cause"])
    assert_says_use_wss(record, server.port)


def test_ws_to_a_tls_port_that_just_closes(tmp_path: Path) -> None:
    """OpenSSL drops a plain HTTP request without an alert: a handshake on the port tells."""
    with tls_server(tmp_path) as server:
        outcome = check(server.port, tmp_path)
    # The upgrade, then one TLS handshake on the same port: each may take the timeout.
    record = expect("upgrade.plain_to_tls_close", outcome, within=2 * TIMEOUT)
    assert "TLS handshake on the same port succeeds" in str(record["cause"])
    assert_says_use_wss(record, server.port)


def test_a_plain_server_that_closes_is_not_called_tls(tmp_path: Path) -> None:
    """The control: closing without a reply on a port without TLS stays ws_closed."""
    with scripted_server(Script(upgrade_reply=b"")) as server:
        outcome = check(server.port, tmp_path)
    document = outcome.report()
    kinds = [r["kind"] for r in document["results"]]
    assert "ws_closed" in kinds, outcome.describe()
    assert "ws_plain_to_tls_port" not in kinds, outcome.describe()
    assert outcome.elapsed <= 2 * TIMEOUT + GRACE_S + startup_s(), outcome.describe()


# ---- a URL path is the server's path prefix (issue 9, defect 11) -----------------------------

NGINX_PREFIX_TO_SOKETI = """
    listen 127.0.0.1:{port};
    location /custom/prefix/ {{ %s }}
    location / {{ return 404; }}
"""


def connect(url: str, home: Path, *extra: str) -> Outcome:
    return run_json("connect", url, *extra, timeout=TIMEOUT, home=home)


@pytest.mark.soketi
def test_path_prefix_reaches_the_server_behind_it(tmp_path: Path, soketi: Soketi) -> None:
    with start_nginx(tmp_path, NGINX_PREFIX_TO_SOKETI % upgrade_proxy(soketi.port)) as nginx:
        base = f"ws://127.0.0.1:{nginx.port}"
        prefixed = connect(f"{base}/custom/prefix", tmp_path, "--key", soketi.key)
        # A URL copied from the browser's network tab: the key comes from its /app/KEY path.
        pasted = connect(
            f"{base}/custom/prefix/app/{soketi.key}?protocol=7&client=js&version=8.6.0",
            tmp_path,
        )
        missing = connect(base, tmp_path, "--key", soketi.key)
    for outcome in (prefixed, pasted):
        assert outcome.exit_code == 0, outcome.describe()
        document = outcome.report()
        assert document["target"] == f"{base}/custom/prefix"
        [record] = [r for r in document["results"] if r["stage"] == "websocket"]
        assert record["status"] == "ok", outcome.describe()
        assert record["subject"].startswith(f"{base}/custom/prefix via ")
        assert record["details"]["url"].startswith(f"{base}/custom/prefix/app/{soketi.key}?")
    record = expect("upgrade.path_prefix_missing", missing, within=TIMEOUT)
    assert f"asked for /app/{soketi.key}" in str(record["cause"])
    assert "ws://host:port/prefix" in str(record["fix"])


@pytest.mark.parametrize(
    ("path", "extra", "requested"),
    [
        ("/custom/prefix", ("--key", "app-key"), "/custom/prefix/app/app-key?protocol=7&"),
        ("/custom/prefix/", ("--key", "app-key"), "/custom/prefix/app/app-key?protocol=7&"),
        ("/app/app-key", (), "/app/app-key?protocol=7&"),
        ("/custom/prefix/app/app-key", (), "/custom/prefix/app/app-key?protocol=7&"),
        ("/custom/prefix/app/app-key", ("--key", "app-key"), "/custom/prefix/app/app-key?"),
    ],
)
def test_the_request_line_carries_prefix_and_key(
    tmp_path: Path, path: str, extra: tuple[str, ...], requested: str
) -> None:
    with scripted_server(Script(actions=[established()])) as server:
        outcome = connect(f"ws://127.0.0.1:{server.port}{path}", tmp_path, *extra)
        request_lines = [r.split("\r\n", 1)[0] for r in server.requests]
    assert outcome.exit_code == 0, outcome.describe()
    assert request_lines, outcome.describe()
    assert request_lines[0].startswith(f"GET {requested}"), request_lines


def test_a_key_in_the_url_and_another_in_key_is_a_usage_error(tmp_path: Path) -> None:
    outcome = connect("ws://127.0.0.1:9/app/app-key", tmp_path, "--key", "other-key")
    assert outcome.exit_code == 2, outcome.describe()
    assert "'app-key'" in outcome.stderr and "'other-key'" in outcome.stderr
    assert "Traceback" not in outcome.stderr


@pytest.mark.soketi
def test_tail_through_a_path_prefix(tmp_path: Path, soketi: Soketi) -> None:
    """tail connects where check does: the URL's prefix and key reach its connection too."""
    with start_nginx(tmp_path, NGINX_PREFIX_TO_SOKETI % upgrade_proxy(soketi.port)) as nginx:
        url = f"ws://127.0.0.1:{nginx.port}/custom/prefix/app/{soketi.key}"
        tail = start_wsdiag(
            "tail", url, "news", "--count", "1", "--duration", "8", "--json", home=tmp_path
        )
        try:
            deadline = time.monotonic() + 5
            published = None
            while time.monotonic() < deadline:  # publish until the subscription is there
                published = run_wsdiag(
                    "publish",
                    soketi.ws_url,
                    "news",
                    "tick",
                    '{"n": 1}',
                    *credentials(soketi),
                    home=tmp_path,
                )
                if tail.poll() is not None:
                    break
                time.sleep(0.3)
            stdout, stderr = tail.communicate(timeout=10)
        finally:
            if tail.poll() is None:
                tail.kill()
                tail.wait()
    context = f"--- tail stdout\n{stdout}\n--- tail stderr\n{stderr}"
    assert published is not None and published.exit_code == 0, published and published.describe()
    assert tail.returncode == 0, context
    assert [json.loads(line)["data"] for line in stdout.splitlines()] == [{"n": 1}], context
