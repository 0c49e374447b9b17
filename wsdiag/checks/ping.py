"""The ``ping`` stage: ``pusher:ping`` → ``pusher:pong`` round trips on an open connection."""

from __future__ import annotations

import itertools
import math
import statistics
import time
from collections.abc import Sequence

from wsdiag.checks import CheckOptions
from wsdiag.models import ErrorKind, Latency, Phase, Stage, StageResult, Status
from wsdiag.pusher.client import BadFrame, Closed, Pong
from wsdiag.session import PusherSession


def latency_stats(samples: Sequence[float]) -> dict[str, float]:
    """min, median, p95 (nearest rank), max and jitter of round trips in ms.

    Jitter is the mean absolute difference between consecutive samples (as
    RFC 3550 defines inter-arrival jitter, without its smoothing): it says how
    much one round trip differs from the next.
    """
    if not samples:
        return {}
    ordered = sorted(samples)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    diffs = [abs(b - a) for a, b in itertools.pairwise(samples)]
    return {
        "min": round(ordered[0], 3),
        "median": round(statistics.median(ordered), 3),
        "p95": round(p95, 3),
        "max": round(ordered[-1], 3),
        "jitter": round(statistics.fmean(diffs), 3) if diffs else 0.0,
    }


def measure_ping(session: PusherSession, subject: str, options: CheckOptions) -> StageResult:
    """``options.ping_count`` round trips; other frames in between are skipped."""
    samples: list[float] = []
    for _ in range(options.ping_count):
        outcome = _one_round_trip(session, options.timeout)
        if isinstance(outcome, Closed):
            return _failed(
                subject,
                samples,
                ErrorKind.WS_CLOSED,
                f"the connection closed during ping ({outcome.code} {outcome.reason})",
                "a proxy or the server cut the connection: run `wsdiag check` again "
                "and look at the close code",
            )
        if isinstance(outcome, BadFrame):
            return _failed(
                subject,
                samples,
                ErrorKind.PUSHER_BAD_FRAME,
                f"bad frame: {outcome.message}",
                "make sure this endpoint speaks the Pusher protocol",
            )
        if outcome is None:
            return _failed(
                subject,
                samples,
                ErrorKind.PING_TIMEOUT,
                f"no pusher:pong within {options.timeout:g} s",
                "the server or a proxy stalls the connection; pusher-js would "
                "reconnect with 4201 — check proxies that buffer WebSocket frames",
            )
        samples.append(outcome)
    stats = latency_stats(samples)
    summary = (
        f"{len(samples)} pongs: min {stats['min']:.1f} / median {stats['median']:.1f} / "
        f"p95 {stats['p95']:.1f} / max {stats['max']:.1f} ms, jitter {stats['jitter']:.1f}"
    )
    return StageResult(
        Stage.PING,
        subject,
        Status.OK,
        summary,
        details={"samples_ms": [round(s, 3) for s in samples], **stats},
        phases=tuple(Phase(f"ping{i + 1}", s) for i, s in enumerate(samples)),
        outcome=latency_of(samples),
    )


def latency_of(samples: Sequence[float]) -> Latency:
    """The typed outcome of a latency stage (what the verdict and --max-latency-ms read)."""
    stats = latency_stats(samples)
    return Latency(tuple(round(s, 3) for s in samples), stats.get("median"), stats.get("p95"))


def _one_round_trip(session: PusherSession, timeout: float) -> float | Closed | BadFrame | None:
    """The round trip in ms; what ended the connection; or None when no pong came in time."""
    deadline = time.monotonic() + timeout
    session.ping()
    while (event := session.next_event(deadline)) is not None:
        if isinstance(event, Pong) and event.rtt_s is not None:
            return event.rtt_s * 1000
        if isinstance(event, Closed | BadFrame):
            return event
    return None


def _failed(
    subject: str, samples: list[float], kind: ErrorKind, cause: str, fix: str
) -> StageResult:
    return StageResult(
        Stage.PING,
        subject,
        Status.FAIL,
        cause,
        kind,
        cause,
        fix,
        {"samples_ms": [round(s, 3) for s in samples], **latency_stats(samples)},
        tuple(Phase(f"ping{i + 1}", s) for i, s in enumerate(samples)),
        outcome=latency_of(samples),
    )
