"""tail at the speed of the wire (issue 13): every event of a burst, in order, one line each.

The burst server writes events back to back in 5,000-event writes, so frames
arrive many per read and split across reads; nothing may be lost, reordered
or merged. Speed itself is measured in benchmarks/, not asserted here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.faults.harness import Outcome, run_wsdiag
from tests.servers.burst import burst_server

EVENTS = 20_000


def tail_burst(tmp_path: Path, count: int, payload_bytes: int, *extra: str) -> Outcome:
    """``wsdiag tail`` until ``count`` events of a fresh burst server have arrived."""
    with burst_server(count, payload_bytes) as server:
        url = f"ws://127.0.0.1:{server.port}"
        args = ["tail", url, "bench", "--key", "k", "--count", str(count), *extra]
        return run_wsdiag(*args, home=tmp_path)


@pytest.mark.parametrize("payload_bytes", [100, 10_000])
def test_ndjson_has_every_event_in_order(tmp_path: Path, payload_bytes: int) -> None:
    count = EVENTS if payload_bytes < 1000 else 2_000
    outcome = tail_burst(tmp_path, count, payload_bytes, "--json")
    assert outcome.exit_code == 0, outcome.describe()
    lines = outcome.stdout.splitlines()
    assert [json.loads(line)["data"]["seq"] for line in lines] == list(range(count))
    first = json.loads(lines[0])
    assert set(first) == {"received_at", "channel", "event", "data", "user_id"}
    assert (first["channel"], first["event"]) == ("bench", "tick")
    assert len(first["data"]["pad"]) == max(0, payload_bytes - 60)


def test_console_prints_one_line_per_event(tmp_path: Path) -> None:
    outcome = tail_burst(tmp_path, EVENTS, 100)
    assert outcome.exit_code == 0, outcome.describe()
    lines = outcome.stdout.splitlines()
    assert len(lines) == EVENTS
    _, channel, event, data = lines[-1].split(" ", 3)
    assert (channel, event) == ("bench", "tick")
    assert json.loads(data)["seq"] == EVENTS - 1
    assert "\x1b[" not in outcome.stdout, "no colour codes when stdout is not a terminal"
    assert f"{EVENTS} event(s)" in outcome.stderr  # the summary


def test_console_cuts_long_data_with_a_marker_and_full_prints_it_all(tmp_path: Path) -> None:
    cut = tail_burst(tmp_path, 3, 5_000)
    full = tail_burst(tmp_path, 3, 5_000, "--full")
    assert cut.exit_code == 0 and full.exit_code == 0, cut.describe() + full.describe()
    assert len(cut.stdout.splitlines()) == 3
    assert all(
        "… (+" in line and "--full or --json shows all" in line for line in cut.stdout.splitlines()
    )
    assert "x" * 4_900 in full.stdout  # pretty-printed whole, below each event's line
    assert '    "pad": "' in full.stdout
