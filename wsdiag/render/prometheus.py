"""A check's report as one Prometheus scrape (``wsdiag exporter``'s ``/probe``).

blackbox_exporter's names where it has them, so dashboards and alerts carry
over (``probe_success``, ``probe_duration_seconds``, ``probe_dns_lookup_time_seconds``,
``probe_ip_protocol``, ``probe_ssl_earliest_cert_expiry``, ``probe_tls_version_info``),
and wsdiag's own for what blackbox cannot see: each stage, each phase, ping
and delivery latency, lost events, the failure's kind, the server's clock.

``probe_success`` is the verdict: 1 when the client would connect (warnings
included), 0 on a failure or when the probe ran out of time. Labels carry
stage, phase and kind names only: never a secret, never an address.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from wsdiag.models import Latency, Report, Stage, StageResult, Status

PROBE_TIMEOUT_KIND = "probe_timeout"  # wsdiag_failure_info's kind when the probe's time ran out


def probe_metrics(
    report: Report, duration_s: float, *, failure: tuple[str, str] | None = None
) -> bytes:
    """The scrape; ``failure`` (stage, kind): the probe itself failed (out of time, bad config)."""
    registry = CollectorRegistry(auto_describe=True)

    def gauge(name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        return _gauge(registry, name, doc, labels)

    ok = report.status in (Status.OK, Status.WARN) and failure is None
    gauge("probe_success", "1 when the client would connect from here (warnings pass)").set(ok)
    gauge("probe_duration_seconds", "How long the probe took").set(duration_s)
    results = [r for r in report.results if r.status is not Status.SKIPPED]

    resolve = [r.elapsed_ms for r in results if r.stage is Stage.RESOLVE]
    if resolve:  # the hosts are resolved side by side: the longest is the wait
        lookup = gauge("probe_dns_lookup_time_seconds", "Time of the DNS lookups")
        lookup.set(max(resolve) / 1000)
    protocol = _ip_protocol(results)
    if protocol:
        gauge("probe_ip_protocol", "IP protocol of the WebSocket connection (4 or 6)").set(protocol)
    _tls(results, registry)

    stage_success = gauge("wsdiag_stage_success", "1 when no record of the stage failed", ["stage"])
    phase_seconds = gauge(
        "wsdiag_phase_duration_seconds",
        "Duration of each phase of each stage, on the first path tried",
        ["stage", "phase"],
    )
    for stage in Stage:
        records = [r for r in results if r.stage is stage]
        if not records:
            continue
        stage_success.labels(stage.value).set(not any(r.failed for r in records))
        shown = next((r for r in records if not r.failed), records[0])
        totals: dict[str, float] = {}
        for phase in shown.phases:
            totals[phase.name] = totals.get(phase.name, 0.0) + phase.ms
        for name, ms in totals.items():
            phase_seconds.labels(stage.value, name).set(ms / 1000)

    _latency(results, Stage.PING, gauge("wsdiag_ping_rtt_seconds", _QUANTILES_DOC, ["quantile"]))
    delivery = [r for r in results if r.stage is Stage.DELIVERY]
    if delivery:
        _latency(
            results,
            Stage.DELIVERY,
            gauge("wsdiag_delivery_latency_seconds", _QUANTILES_DOC, ["quantile"]),
        )
        details = delivery[0].details
        lost = gauge("wsdiag_events_lost", "Test events published and never received")
        lost.set(max(0, int(details.get("sent", 0)) - int(details.get("received", 0))))
    skew = next((r.details.get("clock_skew_s") for r in results if r.stage is Stage.API), None)
    if skew is not None:
        gauge("wsdiag_clock_skew_seconds", "The HTTP API's clock minus this machine's").set(skew)

    gauge("wsdiag_warnings", "Records that are warnings").set(
        sum(r.status is Status.WARN for r in results)
    )
    failure_info = gauge(
        "wsdiag_failure_info", "The first failure: its stage and kind", ["stage", "kind"]
    )
    first = report.first_failure
    if failure is not None:
        failure_info.labels(*failure).set(1)
    elif first is not None:
        failure_info.labels(first.stage.value, str(first.kind or "unknown")).set(1)
    return generate_latest(registry)


_QUANTILES_DOC = "Round trips in seconds: quantile 0 is the fastest, 1 the slowest"


def _ip_protocol(results: Sequence[StageResult]) -> int | None:
    for stage in (Stage.WEBSOCKET, Stage.REACH):
        for result in results:
            address = result.details.get("address")
            if result.stage is stage and not result.failed and isinstance(address, str):
                return 6 if ":" in address else 4
    return None


def _gauge(registry: CollectorRegistry, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
    return Gauge(name, doc, labels, registry=registry)


def _tls(results: Sequence[StageResult], registry: CollectorRegistry) -> None:
    handshakes = [r for r in results if r.stage is Stage.TLS and not r.failed]
    expiries = [
        datetime.fromisoformat(cert["not_after"]).timestamp()
        for result in handshakes
        for cert in result.details.get("chain", [])
        if isinstance(cert, dict) and cert.get("not_after")
    ]
    if expiries:
        _gauge(
            registry,
            "probe_ssl_earliest_cert_expiry",
            "Unix time the first certificate of the chains expires",
        ).set(min(expiries))
    version = next((r.details.get("version") for r in handshakes if r.details.get("version")), None)
    if version:
        info = _gauge(
            registry, "probe_tls_version_info", "The TLS version of the handshake", ["version"]
        )
        info.labels(version).set(1)


def _latency(results: Sequence[StageResult], stage: Stage, metric: Gauge) -> None:
    latency = next(
        (r.outcome for r in results if r.stage is stage and isinstance(r.outcome, Latency)), None
    )
    if latency is None or not latency.samples_ms:
        return
    samples = sorted(latency.samples_ms)
    quantiles = {"0": samples[0], "0.5": latency.median, "0.95": latency.p95, "1": samples[-1]}
    for quantile, ms in quantiles.items():
        if ms is not None and math.isfinite(ms):
            metric.labels(quantile).set(ms / 1000)
