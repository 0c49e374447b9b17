"""``wsdiag watch``: the history of repeated checks and its summary. Pure code, no I/O.

Each run's report goes in (``History.add``); out come what the dashboard shows
(each stage's states over the recent runs, ping and delivery medians over
time, the last failure) and the summary at the end: uptime, flaps, failures by
kind, latency percentiles over the whole watch. A run "works" when the client
would connect (its status is ok or warn), as ``probe_success`` says it.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field

from wsdiag.models import Latency, Report, Stage, StageResult, Status
from wsdiag.records import record

STRIP = 40  # runs kept for the dashboard's strips


@record
class Run:
    number: int
    started_at: float  # wall clock
    duration_s: float
    status: Status
    stages: dict[Stage, Status]  # the worst status of each stage that ran
    ping_ms: float | None  # this run's ping median
    delivery_ms: float | None  # this run's end-to-end median
    failure: StageResult | None
    verdict: str


@dataclass
class History:
    runs: deque[Run] = field(default_factory=lambda: deque(maxlen=STRIP))
    count: int = 0
    working: int = 0
    flaps: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    ping_samples: list[float] = field(default_factory=list)
    delivery_samples: list[float] = field(default_factory=list)
    last_failure: Run | None = None
    _last_works: bool | None = None

    def add(self, report: Report, started_at: float, duration_s: float, verdict: str) -> Run:
        self.count += 1
        works = report.status in (Status.OK, Status.WARN)
        self.working += works
        if self._last_works is not None and works != self._last_works:
            self.flaps += 1
        self._last_works = works
        failure = report.first_failure
        if failure is not None:
            self.failures[f"{failure.stage} {failure.kind or 'unknown'}"] += 1
        ping = _latency(report, Stage.PING)
        delivery = _latency(report, Stage.DELIVERY)
        if ping is not None:
            self.ping_samples.extend(ping.samples_ms)
        if delivery is not None:
            self.delivery_samples.extend(delivery.samples_ms)
        run = Run(
            self.count,
            started_at,
            duration_s,
            report.status,
            _stage_states(report),
            ping.median if ping else None,
            delivery.median if delivery else None,
            failure,
            verdict,
        )
        self.runs.append(run)
        if failure is not None:
            self.last_failure = run
        return run

    @property
    def uptime(self) -> float | None:
        """Share of runs in which the client would have connected, 0-100."""
        return 100.0 * self.working / self.count if self.count else None

    def summary(self) -> dict[str, object]:
        """The end of a watch, JSON-ready."""
        return {
            "runs": self.count,
            "working_runs": self.working,
            "uptime_percent": None if self.uptime is None else round(self.uptime, 2),
            "flaps": self.flaps,
            "failures_by_kind": dict(self.failures.most_common()),
            "ping_ms": percentiles(self.ping_samples),
            "delivery_ms": percentiles(self.delivery_samples),
        }


def percentiles(samples: list[float]) -> dict[str, float] | None:
    """min, median, p95 (nearest rank) and max of every sample of the watch."""
    if not samples:
        return None
    ordered = sorted(samples)

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * len(ordered)) - 1)], 3)

    return {"min": rank(0), "median": rank(0.5), "p95": rank(0.95), "max": rank(1.0)}


def _latency(report: Report, stage: Stage) -> Latency | None:
    for result in report.results:
        if result.stage is stage and isinstance(result.outcome, Latency):
            return result.outcome if result.outcome.samples_ms else None
    return None


_WORST = {Status.FAIL: 3, Status.WARN: 2, Status.OK: 1, Status.SKIPPED: 0}


def _stage_states(report: Report) -> dict[Stage, Status]:
    states: dict[Stage, Status] = {}
    for result in report.results:
        now = states.get(result.stage)
        if now is None or _WORST[result.status] > _WORST[now]:
            states[result.stage] = result.status
    return states
