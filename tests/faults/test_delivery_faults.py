"""Subscribe and delivery faults through `wsdiag check` with credentials, on the scripted server.

soketi refuses a subscription only for a bad signature, which also fails the
API stage first, and never loses an event on demand: these need the scripted server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import expect, run_wsdiag
from tests.servers.pusher_script import Script, established, scripted_server

TIMEOUT = 1.0


@pytest.mark.parametrize(
    ("fault", "script", "stage"),
    [
        (
            "delivery.subscription_refused",
            Script(actions=[established()], refuse_subscriptions="Invalid signature"),
            "subscribe",
        ),
        (
            "delivery.subscription_unanswered",
            Script(actions=[established()], confirm_subscriptions=False),
            "subscribe",
        ),
        ("delivery.event_lost", Script(actions=[established()]), "delivery"),
    ],
)
def test_delivery_faults(tmp_path: Path, fault: str, script: Script, stage: str) -> None:
    with scripted_server(script) as server:
        outcome = run_wsdiag(
            "check",
            f"ws://127.0.0.1:{server.port}",
            "--app-id",
            "12345",
            "--key",
            "app-key",
            "--secret",
            "delivery-secret",
            "--events",
            "2",
            "--pings",
            "1",
            "--timeout",
            str(TIMEOUT),
            "--json",
            home=tmp_path,
        )
        published = [r for r in server.requests if r.startswith("POST /apps/12345/")]
    # The API call, the subscription and the wait for events may each take the timeout.
    record = expect(fault, outcome, within=2 * TIMEOUT)
    assert record["stage"] == stage
    if fault == "delivery.event_lost":
        assert published, "the test events were never published"
        assert "2" in record["summary"] + record["cause"]
    else:
        assert not published, "nothing is published before the subscription works"
