"""The exporter's HTTP server: ``/probe`` runs one check, ``/metrics`` the exporter's own.

blackbox_exporter's multi-target pattern: Prometheus relabels each target into
``/probe?target=T&module=M`` and scrapes the answer. A probe must answer within
the scrape's timeout (``X-Prometheus-Scrape-Timeout-Seconds`` less a margin),
so the check runs on a thread of its own and the answer goes out at the
deadline with what was measured by then (``probe_success`` 0, kind
``probe_timeout``). Probes in flight are bounded, and a probe that ran out of
time keeps its slot until its last network step ends: an overloaded exporter
answers 503 instead of piling up connections. One probe's failure, or a bug,
never touches another's answer.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TextIO
from urllib.parse import parse_qs, urlsplit

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from wsdiag.exporter.modules import DEFAULT, Module, ModuleError
from wsdiag.records import record

MARGIN_S = 0.5  # left of the scrape timeout for the answer itself, as blackbox_exporter does
DEFAULT_BUDGET_S = 30.0  # a probe's time when the scraper sends no timeout header
SCRAPE_TIMEOUT_HEADER = "X-Prometheus-Scrape-Timeout-Seconds"


@record
class Answer:
    status: int
    content_type: str
    body: bytes


def _text(status: int, text: str) -> Answer:
    return Answer(status, "text/plain; charset=utf-8", text.encode())


class Exporter:
    """Probes on request, with the exporter's own metrics."""

    def __init__(
        self,
        modules: Mapping[str, Module],
        environ: Mapping[str, str],
        *,
        max_concurrent: int = 8,
        log: TextIO | None = None,
    ) -> None:
        self.modules = dict(modules)
        self.environ = environ
        self.max_concurrent = max_concurrent
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._log = log or sys.stderr
        self._log_lock = threading.Lock()
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.probes = Counter(
            "wsdiag_exporter_probes",
            "Probes answered, by module and result (success, failure, timeout, overloaded, error)",
            ["module", "result"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "wsdiag_exporter_probes_in_flight",
            "Probes running now, those that ran out of time included",
            registry=self.registry,
        )

    # ------------------------------------------------------------ requests

    def answer(self, path: str, headers: Mapping[str, str]) -> Answer:
        url = urlsplit(path)
        if url.path == "/probe":
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            return self.probe(query, headers.get(SCRAPE_TIMEOUT_HEADER))
        if url.path == "/metrics":
            return Answer(200, CONTENT_TYPE_LATEST, generate_latest(self.registry))
        if url.path == "/":
            modules = ", ".join(sorted(self.modules))
            return _text(
                200,
                "wsdiag exporter\n\n/probe?target=TARGET&module=MODULE  one check (modules: "
                f"{modules})\n/probe?…&debug=true  the same, as the report\n"
                "/metrics  the exporter's own metrics\n",
            )
        return _text(404, "not found: use /probe?target=… or /metrics\n")

    def probe(self, query: Mapping[str, str], scrape_timeout: str | None) -> Answer:
        name = query.get("module") or DEFAULT
        module = self.modules.get(name)
        if module is None:
            return _text(
                400, f"unknown module {name!r} (known: {', '.join(sorted(self.modules))})\n"
            )
        target = query.get("target") or module.target
        if not target:
            return _text(400, "the target parameter is missing: /probe?target=mt1\n")
        budget = _budget(scrape_timeout)
        started = time.monotonic()
        if not self._slots.acquire(timeout=budget):
            self.probes.labels(name, "overloaded").inc()
            return _text(503, f"{self.max_concurrent} probes are already running: try later\n")
        self.in_flight.inc()
        from wsdiag.exporter.probe import run_probe

        try:
            outcome = run_probe(
                target, module, self.environ, budget - (time.monotonic() - started), self._release
            )
        except Exception as exc:  # a bug: this probe answers 500, the slot is freed, others go on
            self._release()
            self.probes.labels(name, "error").inc()
            self._say(f"probe target={target} module={name} result=error ({type(exc).__name__})")
            return _text(500, f"wsdiag could not run this probe: {type(exc).__name__}\n")
        metrics = outcome.metrics()
        result = "timeout" if outcome.timed_out else "success" if outcome.success else "failure"
        self.probes.labels(name, result).inc()
        self._say(
            f"probe target={target} module={name} result={result} "
            f"duration_s={outcome.duration_s:.3f}"
            + (f" ({outcome.error})" if outcome.error else "")
        )
        if query.get("debug", "").lower() == "true":
            text = f"{outcome.debug_text()}\n\nMetrics that would have been returned:\n"
            return _text(200, text + metrics.decode())
        return Answer(200, CONTENT_TYPE_LATEST, metrics)

    def _release(self) -> None:
        """A probe's check is over (maybe after its answer went out): free its slot."""
        self.in_flight.dec()
        self._slots.release()

    def _say(self, line: str) -> None:
        with self._log_lock:
            print(line, file=self._log, flush=True)


MAX_BUDGET_S = 300.0  # a header of inf or 1e300 is no reason to wait forever


def _budget(header: str | None) -> float:
    """The probe's time: the scrape timeout less the margin, between 1 s and 5 minutes."""
    try:
        scrape = float(header) if header else DEFAULT_BUDGET_S + MARGIN_S
    except ValueError:
        scrape = DEFAULT_BUDGET_S + MARGIN_S
    if math.isnan(scrape):
        scrape = DEFAULT_BUDGET_S + MARGIN_S
    return min(MAX_BUDGET_S, max(1.0, scrape - MARGIN_S))


# ---------------------------------------------------------------- serving


class _Handler(BaseHTTPRequestHandler):
    exporter: Exporter  # set on the subclass serve() makes
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # the name http.server calls
        try:
            answer = self.exporter.answer(self.path, dict(self.headers.items()))
        except ModuleError as exc:  # a module reference that broke since start-up
            answer = _text(500, f"{exc}\n")
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, *args: object) -> None:
        pass  # one line per probe comes from the exporter itself


def make_server(exporter: Exporter, host: str, port: int) -> ThreadingHTTPServer:
    import socket

    handler = type("Handler", (_Handler,), {"exporter": exporter})
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("Server", (ThreadingHTTPServer,), {"address_family": family})
    server: ThreadingHTTPServer = server_class((host, port), handler)
    server.daemon_threads = True
    return server
