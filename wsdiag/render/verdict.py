"""The one-line verdict every format shares (``--quiet`` prints only this). No rich here."""

from __future__ import annotations

from wsdiag.models import Handshake, Latency, Report, Stage, Status
from wsdiag.units import ms_text


def verdict(report: Report) -> str:
    """``OK: …`` / ``WARN: …`` / ``FAIL: …`` — the answer in one line."""
    if report.interrupted:
        done = len(report.results)
        return f"INTERRUPTED: {report.target}: stopped by Ctrl-C after {done} result(s)"
    failure = report.first_failure
    if failure is not None:
        kind = f" [{failure.kind}]" if failure.kind else ""
        return f"FAIL: {report.target}: {failure.stage} {failure.subject}: {failure.summary}{kind}"
    warning = report.first_warning
    reached = _reached(report)
    if warning is not None:
        kind = f" [{warning.kind}]" if warning.kind else ""
        return f"WARN: {report.target}: {reached}; {warning.subject}: {warning.summary}{kind}"
    if report.status is Status.SKIPPED:
        return f"SKIPPED: {report.target}: nothing was checked"
    return f"OK: {report.target}: {reached}"


def _reached(report: Report) -> str:
    """What the deepest stage that worked proves, with the ping median when there is one."""
    deepest = {r.stage for r in report.results if r.status in (Status.OK, Status.WARN)}
    words = {
        Stage.DELIVERY: "events flow end to end",
        Stage.SUBSCRIBE: "Pusher connection and subscriptions work",
        Stage.API: "HTTP API request succeeded",
        Stage.PING: "Pusher connection works",
        Stage.WEBSOCKET: "Pusher connection works",
        Stage.TLS: "TLS works",
        Stage.REACH: "reachable",
        Stage.RESOLVE: "resolves",
    }
    text = next((words[s] for s in reversed(Stage) if s in deepest and s in words), "checked")
    for result in report.results:
        latency = result.outcome if result.stage is Stage.PING else None
        median = latency.median if isinstance(latency, Latency) else None
        if median is not None:
            text += f" (ping median {ms_text(median)} ms)"  # as the ping row writes it
            break
    if any(isinstance(r.outcome, Handshake) and r.outcome.placeholder_key for r in report.results):
        text = "reached the Pusher service (no --key: the app itself was not tested)"
    if _fallback_only(report):
        text = "Pusher connection works only over the HTTP fallback (WebSocket fails)"
    return text


def _fallback_only(report: Report) -> bool:
    """No WebSocket path connected, pusher-js's HTTP fallback did."""
    connected = {
        r.stage
        for r in report.results
        if isinstance(r.outcome, Handshake)
        and (r.outcome.socket_id is not None or r.outcome.placeholder_key)
    }
    return Stage.FALLBACK in connected and Stage.WEBSOCKET not in connected
