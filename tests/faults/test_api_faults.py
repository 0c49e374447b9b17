"""HTTP API faults through `wsdiag publish`: soketi, and a scripted API for the cloud's replies."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import Outcome, credentials, expect, run_json, startup_s
from tests.servers.http_api import ApiReply, http_api
from tests.servers.soketi import Soketi

TIMEOUT = 1.0
SECRET = "fault-matrix-secret-0123456789"


def publish(port: int, home: Path, *, secret: str = SECRET, key: str = "app-key") -> Outcome:
    return run_json(
        "publish",
        f"ws://127.0.0.1:{port}",
        "wsdiag-faults",
        "probe",
        '{"n":1}',
        "--app-id",
        "12345",
        "--key",
        key,
        "--secret",
        secret,
        timeout=TIMEOUT,
        home=home,
    )


@pytest.mark.soketi
def test_invalid_signature_from_soketi(tmp_path: Path, soketi: Soketi) -> None:
    outcome = publish(soketi.port, tmp_path, key=soketi.key, secret="not-" + soketi.secret)
    record = expect("api.invalid_signature", outcome, within=TIMEOUT)
    assert record["details"]["string_to_sign"].startswith("POST\n/apps/12345/events\n")
    assert soketi.secret not in outcome.stdout + outcome.stderr


@pytest.mark.soketi
@pytest.mark.parametrize(
    ("fault", "app_id", "data"),
    [("api.404", "999", "{}"), ("api.413", "12345", "x" * 150_000)],
)
def test_soketi_errors(tmp_path: Path, soketi: Soketi, fault: str, app_id: str, data: str) -> None:
    """soketi answers these as HTTP 200 with {"error", "code"}; wsdiag reports the code."""
    outcome = run_json(
        "publish",
        soketi.ws_url,
        "wsdiag-faults",
        "probe",
        "-",
        "--no-size-limit",
        *credentials(soketi, app_id=app_id),
        timeout=TIMEOUT,
        home=tmp_path,
        stdin=data,
    )
    expect(fault, outcome, within=TIMEOUT)


CLOUD_SIGNATURE_REPLY = (
    'Invalid signature: you should have sent HmacSHA256Hex("POST\\n/apps/12345/events\\n'
    'auth_key=app-key&auth_timestamp=…", your_secret_key), but you sent "0f…"'
)


@pytest.mark.parametrize(
    ("fault", "reply"),
    [
        (
            "api.timestamp_expired",
            ApiReply(
                401,
                "Timestamp expired: Given timestamp (1764045000) not within 600s of server time",
                "text/plain",
                clock_offset_s=1200,
            ),
        ),
        ("api.400", ApiReply(400, "Invalid JSON provided", "text/plain")),
        ("api.403", ApiReply(403, "Application disabled", "text/plain")),
        ("api.404", ApiReply(404, "Not found", "text/plain")),
        ("api.413", ApiReply(413, "Request Entity Too Large", "text/plain")),
        ("api.500", ApiReply(500, "Internal Server Error", "text/plain")),
        ("api.429", ApiReply(429, "Too Many Requests", "text/plain")),
        ("api.slow", ApiReply(200, "{}", delay_s=5)),
        # every byte inside --timeout, the whole body far beyond it
        ("api.slow", ApiReply(200, '{"channels": {}, "padding": "........"}', drip_s=0.3)),
        ("api.not_json", ApiReply(200, "<html><body>Proxy login</body></html>", "text/html")),
        ("api.clock_skew", ApiReply(200, "{}", clock_offset_s=120)),
    ],
)
def test_api_replies(tmp_path: Path, fault: str, reply: ApiReply) -> None:
    with http_api(reply) as server:
        outcome = publish(server.port, tmp_path)
    record = expect(fault, outcome, within=TIMEOUT)
    assert server.requests and server.requests[0][0] == "POST"
    if fault in ("api.timestamp_expired", "api.clock_skew"):
        skew = record["details"]["clock_skew_s"]
        assert abs(skew - reply.clock_offset_s) < 5


def test_cloud_invalid_signature_shows_what_we_signed(tmp_path: Path) -> None:
    with http_api(ApiReply(401, CLOUD_SIGNATURE_REPLY, "text/plain")) as server:
        outcome = publish(server.port, tmp_path)
    record = expect("api.invalid_signature", outcome, within=TIMEOUT)
    assert "auth_key=app-key" in record["details"]["string_to_sign"]
    assert SECRET not in outcome.stdout + outcome.stderr


@pytest.mark.soketi
def test_wrong_app_id_in_check_is_not_a_lost_event(tmp_path: Path, soketi: Soketi) -> None:
    """issue 9 #5: the api stage saw the 404; delivery must not wait and call events lost."""
    outcome = run_json(
        "check", soketi.ws_url, *credentials(soketi, app_id="999"), timeout=TIMEOUT, home=tmp_path
    )
    assert outcome.exit_code == 1, outcome.describe()
    document = outcome.report()
    headline = document["results"][document["first_failure"]]
    assert (headline["stage"], headline["kind"]) == ("api", "api_404"), outcome.describe()
    delivery = [r for r in document["results"] if r["stage"] == "delivery"]
    assert [r["status"] for r in delivery] == ["skipped"], outcome.describe()
    assert "HTTP API failed" in delivery[0]["summary"]
    assert "event_lost" not in outcome.stdout
    assert outcome.elapsed < TIMEOUT * 3 + 1 + startup_s(), "no waiting for events never accepted"
