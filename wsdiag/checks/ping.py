"""The ``ping`` stage: ``pusher:ping`` → ``pusher:pong`` round trips on an open connection."""

from __future__ import annotations

import itertools
import math
import statistics
import time
from collections.abc import Sequence

from wsdiag.checks import CheckOptions
from wsdiag.checks.websocket import PusherSession, SessionClosed
from wsdiag.models import ErrorKind, Phase, Stage, StageResult, Status
from wsdiag.pusher.frames import FrameError, ping_frame


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
        try:
            rtt = _one_round_trip(session, options.timeout)
        except SessionClosed as closed:
            return _failed(
                subject,
                samples,
                ErrorKind.WS_CLOSED,
                f"the connection closed during ping ({closed.code} {closed.reason})",
                "a proxy or the server cut the connection: run `wsdiag check` again "
                "and look at the close code",
            )
        except FrameError as exc:
            return _failed(
                subject,
                samples,
                ErrorKind.PUSHER_BAD_FRAME,
                f"bad frame: {exc}",
                "make sure this endpoint speaks the Pusher protocol",
            )
        if rtt is None:
            return _failed(
                subject,
                samples,
                ErrorKind.PING_TIMEOUT,
                f"no pusher:pong within {options.timeout:g} s",
                "the server or a proxy stalls the connection; pusher-js would "
                "reconnect with 4201 — check proxies that buffer WebSocket frames",
            )
        samples.append(rtt)
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
    )


def _one_round_trip(session: PusherSession, timeout: float) -> float | None:
    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    session.send_event(ping_frame())
    while (remaining := deadline - time.monotonic()) > 0:
        event = session.receive(remaining)
        if event is not None and event.event == "pusher:pong":
            return (time.perf_counter() - started) * 1000
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
    )
