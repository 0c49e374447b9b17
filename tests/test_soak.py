"""``wsdiag soak``: the verdict from three lives (pure), and real runs through an idle relay."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner, Result

from tests.faults.harness import run_json
from tests.servers.idle_relay import idle_relay
from tests.servers.soketi import Soketi
from wsdiag.checks.soak import ConnectionLife, Ending, KeepAlive, SoakResult, judge_lives
from wsdiag.cli import cli
from wsdiag.models import ErrorKind, Status
from wsdiag.render.soak import SoakProgress, soak_lines

SCHEMA = json.loads(resources.files("wsdiag").joinpath("schema/soak-v1.json").read_text())


def lives(*endings: tuple[Ending, float, int | None]) -> tuple[ConnectionLife, ...]:
    return tuple(
        ConnectionLife(mode, ending, lived, code, "r" if code else None)
        for mode, (ending, lived, code) in zip(KeepAlive, endings, strict=True)
    )


def judged(*endings: tuple[Ending, float, int | None]) -> SoakResult:
    base = SoakResult("ws://x:1", 600, 30, 30, lives(*endings), Status.OK, "")
    return judge_lives(base)


ALIVE = (Ending.ALIVE, 600.0, None)


def test_nothing_died() -> None:
    result = judged(ALIVE, ALIVE, ALIVE)
    assert (result.status, result.kind, result.idle_timeout_s) == (Status.OK, None, None)
    assert result.pusher_pings_keep_alive is None


def test_an_idle_middlebox_is_measured_and_pusher_pings_keep_it_alive() -> None:
    result = judged((Ending.CLOSED, 60.2, 1006), ALIVE, ALIVE)
    assert (result.status, result.kind) == (Status.WARN, ErrorKind.IDLE_TIMEOUT)
    assert result.idle_timeout_s == 60.2
    assert result.pusher_pings_keep_alive is True
    assert result.activity_timeout_s == 30
    assert result.cause == "something on this path closes idle TCP after ≈ 60.2 s"
    assert "activityTimeout: 30000" in (result.fix or "")


def test_a_server_that_ignores_control_pings() -> None:
    result = judged((Ending.CLOSED, 120.0, 4201), (Ending.CLOSED, 120.1, 4201), ALIVE)
    assert result.status is Status.WARN
    assert "whatever WebSocket control pings arrive" in (result.cause or "")


def test_the_pusher_keep_alive_dying_fails() -> None:
    dead = (Ending.CLOSED, 60.0, 1006)
    result = judged(dead, dead, (Ending.SILENT, 65.0, None))
    assert (result.status, result.kind) == (Status.FAIL, ErrorKind.IDLE_TIMEOUT)
    assert result.pusher_pings_keep_alive is False
    assert result.idle_timeout_s == 60.0


@pytest.mark.parametrize(("lived", "kicked"), [(30.1, True), (25.0, True), (36.0, False)])
def test_the_30_second_kick(lived: float, kicked: bool) -> None:
    kick = (Ending.CLOSED, lived, 4009)
    result = judged(kick, kick, kick)
    assert (result.kind is ErrorKind.PUSHER_AUTH_TIMEOUT) is kicked
    assert result.status is Status.FAIL


def test_console_lines() -> None:
    result = judged((Ending.CLOSED, 60.2, 1006), ALIVE, ALIVE)
    assert soak_lines(result)[2:6] == [
        "  (a) no pings           closed 1006 (r) after 60.2 s",
        "  (b) WebSocket pings    alive after 600.0 s",
        "  (c) pusher:ping        alive after 600.0 s",
        "",
    ]
    assert soak_lines(result)[6].startswith(
        "WARN: pusher:ping every 30 s keeps the connection alive"
    )


# ----------------------------------------------------------------- real runs


def invoke(*args: str) -> Result:
    clean = {k: None for k in os.environ if k.startswith(("PUSHER_", "WSDIAG_", "GITHUB_"))}
    return CliRunner().invoke(cli, ["soak", *args], env={**clean, "COLUMNS": "160"})


@pytest.fixture
def relay(soketi: Soketi) -> Iterator[str]:
    with idle_relay((soketi.host, soketi.port), 2.0) as front:
        yield front.ws_url


def soak_json(url: str, soketi: Soketi, *extra: str) -> tuple[int, dict[str, object]]:
    result = invoke(url, "--key", soketi.key, "--json", "--timeout", "1", *extra)
    document = json.loads(result.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert soketi.secret not in result.output
    return result.exit_code, document


@pytest.mark.soketi
def test_pusher_pings_outlive_an_idle_relay(soketi: Soketi, relay: str) -> None:
    code, document = soak_json(relay, soketi, "--duration", "3.5", "--interval", "0.5")
    assert code == 0
    endings = [c["ending"] for c in document["connections"]]  # type: ignore[union-attr]
    assert endings == ["closed", "alive", "alive"]  # TCP-level pings count for a TCP relay
    assert 1.8 <= document["idle_timeout_s"] <= 2.6  # type: ignore[operator]
    assert document["pusher_pings_keep_alive"] is True
    assert document["kind"] == "idle_timeout"
    assert document["activity_timeout_s"] == 1


@pytest.mark.soketi
def test_pings_slower_than_the_idle_timeout_die(soketi: Soketi, relay: str) -> None:
    code, document = soak_json(relay, soketi, "--duration", "3.5", "--interval", "3")
    assert code == 1
    assert [c["ending"] for c in document["connections"]] == ["closed"] * 3  # type: ignore[union-attr]
    assert document["pusher_pings_keep_alive"] is False


@pytest.mark.soketi
def test_a_silent_relay_is_found_by_a_ping(soketi: Soketi) -> None:
    with idle_relay((soketi.host, soketi.port), 1.0, silent=True) as front:
        code, document = soak_json(front.ws_url, soketi, "--duration", "2", "--interval", "3")
    assert code == 1
    assert [c["ending"] for c in document["connections"]] == ["silent"] * 3  # type: ignore[union-attr]
    assert document["idle_timeout_s"] is None


@pytest.mark.soketi
def test_nothing_dies_on_a_direct_path(soketi: Soketi) -> None:
    code, document = soak_json(soketi.ws_url, soketi, "--duration", "1.5", "--interval", "0.5")
    assert code == 0
    assert document["idle_timeout_s"] is None
    assert document["status"] == "ok"


@pytest.mark.soketi
def test_console_report(soketi: Soketi, relay: str) -> None:
    result = invoke(relay, "--key", soketi.key, "--duration", "3", "--interval", "0.5")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[2].startswith("  (a) no pings           closed 1006")
    assert "idle timeout of the path: ≈ 2" in result.stdout
    assert "soaking" not in result.output  # live progress only on a terminal


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_live_progress_only_on_a_terminal() -> None:
    progress_lives = lives((Ending.CLOSED, 2.0, 1006), ALIVE, ALIVE)
    for stream, shown in ((_Terminal(), True), (io.StringIO(), False)):
        progress = SoakProgress(stream, 600)
        progress.update(progress_lives)
        progress.stop()
        assert ("(b) WebSocket pings    alive after 600.0 s" in stream.getvalue()) is shown


@pytest.mark.soketi
def test_check_soak_adds_the_idle_probe_as_its_last_stage(soketi: Soketi, tmp_path: Path) -> None:
    """issue 10: `check --soak SECONDS` holds the three connections on the path that connected."""
    with idle_relay((soketi.host, soketi.port), 2.0) as front:
        outcome = run_json(
            "check", front.ws_url, "--key", soketi.key, "--soak", "3.5", timeout=1, home=tmp_path
        )
    document = outcome.report()
    soak = document["results"][-1]
    assert soak["stage"] == "soak", outcome.describe()
    assert 1.8 <= soak["details"]["idle_timeout_s"] <= 2.6, outcome.describe()
    # pusher-js pings only after the server's 30 s activity_timeout: the relay wins
    assert soak["status"] == "fail" and outcome.exit_code == 1, outcome.describe()
    assert soak["fix"], outcome.describe()
    stages = [r["stage"] for r in document["results"]]
    assert stages.index("websocket") < stages.index("soak")
