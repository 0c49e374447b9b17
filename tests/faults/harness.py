"""Run wsdiag as a user does (a subprocess) and hold its outcome against the fault matrix."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.faults.matrix import BY_ID
from tests.servers.soketi import Soketi

# What a run may take on top of the time the user allowed its network steps: the
# work between and around them. Interpreter start-up is not in it: it is measured
# on this machine as it is now (startup_s) and allowed on top, so a loaded CI runner
# does not turn a slow start into a "hang" (issue 14).
GRACE_S = 1.0


@functools.cache
def startup_s() -> float:
    """The slowest of three `python -m wsdiag --version` runs here: the cost of starting."""
    slowest = 0.0
    for _ in range(3):
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "wsdiag", "--version"], capture_output=True, check=False
        )
        slowest = max(slowest, time.monotonic() - started)
    return slowest


@dataclass(frozen=True)
class Outcome:
    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    elapsed: float

    def report(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.stdout)
        return document

    def describe(self) -> str:
        return (
            f"wsdiag {' '.join(self.args)}\nexit {self.exit_code} after {self.elapsed:.2f} s\n"
            f"--- stdout\n{self.stdout[-3000:]}\n--- stderr\n{self.stderr[-3000:]}"
        )


def user_environment(home: Path) -> dict[str, str]:
    """The caller's environment without anything that would steer wsdiag."""
    steering = ("PUSHER_", "WSDIAG_", "GITHUB_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(steering)}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), COLUMNS="160")
    return env


def run_wsdiag(
    *args: str,
    home: Path,
    stdin: str | None = None,
    limit: float = 60,
    env: dict[str, str] | None = None,
    prefix: tuple[str, ...] | list[str] = (),
) -> Outcome:
    """``env``: variables set on top of the clean user environment; ``prefix``: a command
    to run wsdiag under (``ip netns exec NAME`` for a client machine behind a firewall)."""
    started = time.monotonic()
    completed = subprocess.run(
        [*prefix, sys.executable, "-m", "wsdiag", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**user_environment(home), **(env or {})},
        timeout=limit,
        check=False,
    )
    return Outcome(
        tuple(args),
        completed.returncode,
        completed.stdout,
        completed.stderr,
        time.monotonic() - started,
    )


def run_json(
    *args: str,
    timeout: float,
    home: Path,
    stdin: str | None = None,
    prefix: tuple[str, ...] | list[str] = (),
) -> Outcome:
    """``wsdiag ARGS --timeout TIMEOUT --json``: a run whose report a test reads and bounds."""
    return run_wsdiag(
        *args, "--timeout", str(timeout), "--json", home=home, stdin=stdin, prefix=prefix
    )


def start_wsdiag(*args: str, home: Path) -> subprocess.Popen[str]:
    """wsdiag started in the background (text pipes), for a test that signals or reads it live."""
    return subprocess.Popen(
        [sys.executable, "-m", "wsdiag", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=user_environment(home),
    )


def credentials(soketi: Soketi, *, app_id: str | None = None) -> list[str]:
    """The app's --app-id/--key/--secret; ``app_id`` replaces the id to ask for a wrong app."""
    return ["--app-id", app_id or soketi.app_id, "--key", soketi.key, "--secret", soketi.secret]


def expect(fault_id: str, outcome: Outcome, *, within: float) -> dict[str, Any]:
    """Assert the matrix's expectation for ``fault_id``; return the record that carries it.

    ``within`` is the longest the user asked wsdiag to wait (its --timeout, or
    the sum of the steps that may each wait that long); the run must end by
    then plus GRACE_S.
    """
    fault = BY_ID[fault_id]
    context = outcome.describe()
    assert "Traceback" not in outcome.stderr, context
    assert outcome.exit_code == fault.exit_code, context
    document = outcome.report()
    # wsdiag's own timeline (monotonic, from the start of the run): the steps it waited on.
    ends = [(r["started_ms"] or 0) + (r["elapsed_ms"] or 0) for r in document["results"]]
    ran_s = max(ends, default=0) / 1000
    assert ran_s <= within + GRACE_S, f"the run took {ran_s:.2f} s\n{context}"
    assert outcome.elapsed <= within + GRACE_S + 2 * startup_s(), context
    assert document["exit_code"] == fault.exit_code, context
    carriers = [r for r in document["results"] if r["kind"] == str(fault.kind)]
    assert carriers, f"no result of kind {fault.kind}\n{context}"
    record = carriers[0]
    assert record["status"] == fault.status, context
    assert record["cause"], context
    assert record["fix"], context
    if fault.status == "fail":
        first = document["results"][document["first_failure"]]
        assert first["kind"] == str(fault.kind), f"first failure is {first['kind']}\n{context}"
    return record
