"""pusher-js's HTTP fallback through `wsdiag check` on self-hosted targets: soketi, nginx.

A self-hosted server is its own fallback host here (wsdiag asks the server
the client talks to). soketi has no fallback routes; nginx in front of soketi
routes ``/pusher/`` to the test fallback endpoint (tests/servers/fallback.py)
with its default response buffering (which holds a stream's first frames),
with buffering off, or refuses it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import Outcome, expect, run_json
from tests.servers.fallback import SOCKET_ID, fallback_server
from tests.servers.nginx import Nginx, start_nginx, upgrade_proxy
from tests.servers.soketi import Soketi

pytestmark = pytest.mark.soketi
TIMEOUT = 1.5

NGINX = """
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {cert};
    location / {{ %s }}
    location /pusher/ {{ %s }}
"""


def by_stage(document: dict[str, object], stage: str) -> list[dict[str, object]]:
    results = document["results"]
    assert isinstance(results, list)
    return [r for r in results if r["stage"] == stage]


def check_nginx(nginx: Nginx, soketi: Soketi, home: Path) -> Outcome:
    url = f"wss://127.0.0.1:{nginx.port}"
    args = ("check", url, "--key", soketi.key, "--ca-bundle", nginx.ca_bundle)
    return run_json(*args, timeout=TIMEOUT, home=home)


def test_soketi_serves_no_fallback(tmp_path: Path, soketi: Soketi) -> None:
    outcome = run_json("check", soketi.ws_url, "--key", soketi.key, timeout=TIMEOUT, home=tmp_path)
    record = expect("fallback.not_served", outcome, within=TIMEOUT)
    assert record["subject"] == f"http://127.0.0.1:{soketi.port}"
    assert "enabledTransports: ['ws', 'wss']" in str(record["fix"])
    assert "sockjs-CLUSTER.pusher.com" in str(record["fix"])
    document = outcome.report()
    assert document["verdict"].startswith("WARN: ")
    assert by_stage(document, "websocket")[0]["status"] == "ok"
    # Told the client has no HTTP transport, the fallback does not apply.
    told = run_json(
        "check",
        soketi.ws_url,
        "--key",
        soketi.key,
        "--enabled-transports",
        "ws,wss",
        timeout=TIMEOUT,
        home=tmp_path,
    )
    assert told.exit_code == 0, told.describe()
    told_report = told.report()
    assert told_report["status"] == "ok", told.describe()
    assert by_stage(told_report, "fallback")[0]["status"] == "skipped"


def test_a_served_fallback_through_nginx_connects(tmp_path: Path, soketi: Soketi) -> None:
    fallback_location = "%s proxy_buffering off;"
    with fallback_server(soketi.key) as fallback:
        server = NGINX % (
            upgrade_proxy(soketi.port),
            fallback_location % f"proxy_pass http://127.0.0.1:{fallback.port};",
        )
        with start_nginx(tmp_path, server) as nginx:
            outcome = check_nginx(nginx, soketi, tmp_path)
    assert outcome.exit_code == 0, outcome.describe()
    document = outcome.report()
    assert document["status"] == "ok", outcome.describe()
    record = by_stage(document, "fallback")[0]
    assert record["details"]["socket_id"] == SOCKET_ID  # type: ignore[index]
    assert record["subject"] == f"https://127.0.0.1:{nginx.port}"


def test_nginx_buffering_the_stream(tmp_path: Path, soketi: Soketi) -> None:
    """nginx's default proxy_buffering holds the stream's first frames; polling gets through."""
    with fallback_server(soketi.key) as fallback:
        server = NGINX % (
            upgrade_proxy(soketi.port),
            f"proxy_pass http://127.0.0.1:{fallback.port};",
        )
        with start_nginx(tmp_path, server) as nginx:
            outcome = check_nginx(nginx, soketi, tmp_path)
    record = expect("fallback.buffered", outcome, within=2 * TIMEOUT)
    assert record["details"]["tried"] == ["xhr_streaming", "xhr"]  # type: ignore[index]
    assert "proxy_buffering off" in str(record["fix"])


def test_nginx_refusing_the_fallback(tmp_path: Path, soketi: Soketi) -> None:
    server = NGINX % (upgrade_proxy(soketi.port), "return 403;")
    with start_nginx(tmp_path, server) as nginx:
        outcome = check_nginx(nginx, soketi, tmp_path)
    record = expect("fallback.refused", outcome, within=TIMEOUT)
    assert record["summary"] == "HTTP 403"
    assert "nginx" in str(record["cause"])
