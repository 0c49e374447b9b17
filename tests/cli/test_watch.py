"""``wsdiag watch`` through its real entry point against soketi; its dashboard from real runs."""

from __future__ import annotations

import contextlib
import json
import signal
import time
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from tests.faults.harness import run_wsdiag, start_wsdiag
from tests.servers.relay import refused_port, relay_on
from tests.servers.soketi import Soketi
from wsdiag.checks import CheckOptions
from wsdiag.checks.runner import check_target
from wsdiag.models import Report
from wsdiag.render.verdict import verdict
from wsdiag.render.watch import dashboard, sparkline
from wsdiag.target import parse_target
from wsdiag.watch import History

pytestmark = pytest.mark.soketi
SCHEMA = json.loads(resources.files("wsdiag").joinpath("schema/report-v2.json").read_text())
QUIET = ("--enabled-transports", "ws,wss")  # a client set up for soketi: no fallback warning


def test_lines_then_the_summary(soketi: Soketi, tmp_path: Path) -> None:
    args = ("watch", soketi.ws_url, "--key", soketi.key, "--interval", "0.2", "--count", "3")
    outcome = run_wsdiag(*args, *QUIET, home=tmp_path)
    assert outcome.exit_code == 0, outcome.describe()
    lines = outcome.stdout.splitlines()
    for number, line in enumerate(lines[:3], 1):
        assert f" #{number} OK: {soketi.ws_url}: Pusher connection works" in line, line
    assert lines[3].startswith("watched 3 run(s) over ")
    assert "uptime 100.0 % (3/3 runs worked), 0 flap(s)" in lines[3]
    assert lines[4].startswith("ping: min ")


def test_ndjson_reports(soketi: Soketi, tmp_path: Path) -> None:
    args = ("watch", soketi.ws_url, "--key", soketi.key, "--interval", "0.2", "--count", "2")
    outcome = run_wsdiag(*args, *QUIET, "--json", home=tmp_path)
    assert outcome.exit_code == 0, outcome.describe()
    documents = [json.loads(line) for line in outcome.stdout.splitlines()]
    assert len(documents) == 2
    for document in documents:
        jsonschema.Draft202012Validator(SCHEMA).validate(document)
        assert document["command"] == "watch" and document["status"] == "ok"
    assert "uptime 100.0 %" in outcome.stderr  # the summary keeps stdout NDJSON


def test_a_server_that_goes_away_is_counted(soketi: Soketi, tmp_path: Path) -> None:
    with contextlib.ExitStack() as stack:
        port = stack.enter_context(relay_on(["127.0.0.1"], (soketi.host, soketi.port)))
        watching = start_wsdiag(
            "watch", f"ws://127.0.0.1:{port}", "--key", soketi.key, "--interval", "0.6",
            "--count", "4", "--timeout", "1", *QUIET, home=tmp_path,
        )  # fmt: skip
        assert watching.stdout is not None
        first = watching.stdout.readline()
        stack.close()  # the relay stops listening: refused from now on
        rest, errors = watching.communicate(timeout=30)
    assert " #1 OK" in first, first + errors
    lines = rest.splitlines()
    assert all(" FAIL: " in line and "[tcp_refused]" in line for line in lines[:3]), rest
    assert "uptime 25.0 % (1/4 runs worked), 1 flap(s)" in lines[3]
    assert "failures: reach tcp_refused ×3" in lines[4]
    assert watching.returncode == 1


def test_sigterm_ends_with_the_summary(soketi: Soketi, tmp_path: Path) -> None:
    watching = start_wsdiag(
        "watch", soketi.ws_url, "--key", soketi.key, "--interval", "5", *QUIET, home=tmp_path
    )
    assert watching.stdout is not None
    assert " #1 OK" in watching.stdout.readline()
    time.sleep(0.2)  # sleeping until the next check
    watching.send_signal(signal.SIGTERM)
    rest, _ = watching.communicate(timeout=10)
    assert watching.returncode == 143
    assert "watched 1 run(s)" in rest


def test_the_dashboard_from_real_runs(soketi: Soketi) -> None:
    history = History()
    options = CheckOptions(timeout=1, ping_count=3)
    with refused_port() as closed:
        for url in (soketi.ws_url, soketi.ws_url, f"ws://127.0.0.1:{closed}", soketi.ws_url):
            report = Report(command="watch", target=url)
            check_target(parse_target(url, key=soketi.key), options, report)
            history.add(report, time.time(), 0.1, verdict(report))
    lines = [line.plain for line in dashboard(history, "soketi", 5, 100)]
    assert lines[0] == "wsdiag watch soketi every 5 s — 4 run(s), uptime 75.0 %, 2 flap(s)"
    reach = next(line for line in lines if line.startswith("reach"))
    assert reach.endswith("████") and " ok " in reach  # a block per run, the state now
    websocket = next(line for line in lines if line.startswith("websocket"))
    assert websocket.endswith("████")  # run 3's skipped record is a (grey) block too
    assert any(line.startswith("ping ") for line in lines)
    failure = next(line for line in lines if line.startswith("last failure: run #3"))
    assert "refused [tcp_refused]" in failure
    assert any(line.strip().startswith("fix: ") for line in lines)


def test_sparkline_scales_and_leaves_gaps() -> None:
    assert sparkline([1.0, None, 2.0, 3.0]) == "▁ ▅█"
    assert sparkline([None, None]) == ""
