"""``wsdiag exporter`` through its real entry point, probing soketi, scraped by a real Prometheus.

The exporter runs as a user runs it (``python -m wsdiag exporter``), with a
config file whose modules hold credentials by reference (env:, file:). The
Prometheus test uses the usual blackbox relabelling (``__param_target``) and
reads ``probe_success`` back from Prometheus's HTTP API.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.harness import run_wsdiag, user_environment
from tests.servers.prometheus import start_prometheus
from tests.servers.relay import refused_port
from tests.servers.soketi import Soketi

pytestmark = pytest.mark.soketi


@dataclass(frozen=True)
class Running:
    port: int
    proc: subprocess.Popen[str]
    logs: list[str]  # the exporter's stdout and stderr, once it has stopped

    def get(
        self, path: str, headers: dict[str, str] | None = None, timeout: float = 30
    ) -> tuple[int, str, float]:
        started = time.monotonic()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                body = reply.read().decode()
                return reply.status, body, time.monotonic() - started
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(), time.monotonic() - started


@contextlib.contextmanager
def exporter(
    tmp_path: Path, config: str = "", env: dict[str, str] | None = None, *extra: str
) -> Iterator[Running]:
    path = tmp_path / "exporter.toml"
    path.write_text(config)
    # Port 0: the kernel picks a free port and the exporter names it in its first line, so
    # no other test's server can take the port between a pick and the bind.
    proc = subprocess.Popen(
        [sys.executable, "-m", "wsdiag", "exporter", "--listen", "127.0.0.1:0",
         "--config", str(path), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**user_environment(tmp_path), **(env or {})},
    )  # fmt: skip
    assert proc.stderr is not None
    first = proc.stderr.readline()  # "wsdiag exporter on http://127.0.0.1:PORT/ (…)"
    found = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
    if found is None:
        proc.kill()
        raise RuntimeError(f"the exporter did not start: {first}{proc.communicate()}")
    running = Running(int(found.group(1)), proc, [])
    try:
        yield running
    finally:
        if proc.poll() is None:
            proc.terminate()
        out, err = proc.communicate(timeout=10)
        running.logs.extend([out, first + err])


def sample(metrics: str, name: str) -> float | None:
    """The value of the first sample whose name (with labels) starts with ``name``."""
    for line in metrics.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            return float(line.rsplit(" ", 1)[1])
    return None


def config_for(soketi: Soketi, secret_file: Path) -> str:
    secret_file.write_text(soketi.secret + "\n")
    return f"""
[modules.end_to_end]
key = "{soketi.key}"
app_id = "env:TEST_APP_ID"
secret = "file:{secret_file}"
timeout = 3
pings = 3
events = 2
enabled_transports = ["ws", "wss"]

[modules.wrong_key]
key = "wsdiag-wrong-key"
timeout = 3
"""


def test_probes_end_to_end_and_fails_what_is_broken(tmp_path: Path, soketi: Soketi) -> None:
    secret_file = tmp_path / "secret"
    env = {"TEST_APP_ID": soketi.app_id}
    with exporter(tmp_path, config_for(soketi, secret_file), env) as running:
        target = f"ws://127.0.0.1:{soketi.port}"
        status, good, _ = running.get(f"/probe?target={target}&module=end_to_end")
        _, wrong_key, _ = running.get(f"/probe?target={target}&module=wrong_key")
        with refused_port() as closed:
            _, refused, _ = running.get(f"/probe?target=ws://127.0.0.1:{closed}")
        _, debug, _ = running.get(f"/probe?target={target}&module=end_to_end&debug=true")
        _, own, _ = running.get("/metrics")
    assert status == 200
    assert sample(good, "probe_success") == 1, good
    assert sample(good, 'wsdiag_stage_success{stage="delivery"}') == 1, good
    assert sample(good, "wsdiag_events_lost") == 0
    assert sample(good, 'wsdiag_ping_rtt_seconds{quantile="0.5"}') is not None
    assert sample(good, 'wsdiag_delivery_latency_seconds{quantile="0.95"}') is not None
    assert sample(good, "probe_ip_protocol") == 4
    assert sample(good, 'wsdiag_phase_duration_seconds{phase="handshake",stage="websocket"}')
    assert sample(wrong_key, "probe_success") == 0
    assert 'wsdiag_failure_info{kind="pusher_4001",stage="websocket"} 1.0' in wrong_key
    assert sample(refused, "probe_success") == 0
    assert 'wsdiag_failure_info{kind="tcp_refused",stage="reach"} 1.0' in refused
    assert "Metrics that would have been returned:" in debug and "websocket" in debug
    for text in (good, wrong_key, debug, own, *running.logs):
        assert soketi.secret not in text
    assert f"probe target={target} module=end_to_end result=success" in running.logs[1]
    assert 'wsdiag_exporter_probes_total{module="end_to_end",result="success"} 2.0' in own
    assert 'wsdiag_exporter_probes_total{module="wrong_key",result="failure"} 1.0' in own
    assert "process_resident_memory_bytes" in own


def test_a_module_chooses_its_stages(tmp_path: Path, soketi: Soketi) -> None:
    config = '[modules.tcp]\nstages = ["resolve", "reach"]\n'
    with exporter(tmp_path, config) as running:
        _, metrics, _ = running.get(f"/probe?target=ws://127.0.0.1:{soketi.port}&module=tcp")
    stages = set(re.findall(r'wsdiag_stage_success\{stage="(\w+)"\}', metrics))
    assert stages == {"resolve", "reach"}
    assert sample(metrics, "probe_success") == 1


def test_bad_requests_and_references(tmp_path: Path, soketi: Soketi) -> None:
    config = config_for(soketi, tmp_path / "secret")  # TEST_APP_ID left unset
    with exporter(tmp_path, config) as running:
        unknown = running.get("/probe?target=mt1&module=nope")
        missing = running.get("/probe")
        unset = running.get(f"/probe?target=ws://127.0.0.1:{soketi.port}&module=end_to_end")
        not_found = running.get("/nowhere")
    assert unknown[0] == 400 and "unknown module 'nope'" in unknown[1]
    assert missing[0] == 400 and "target" in missing[1]
    assert unset[0] == 200 and sample(unset[1], "probe_success") == 0
    assert 'wsdiag_failure_info{kind="invalid_input",stage="config"} 1.0' in unset[1]
    assert not_found[0] == 404


def test_the_scrape_timeout_bounds_the_probe(tmp_path: Path) -> None:
    """A server that accepts and never answers: the answer leaves by the scrape's deadline."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        target = f"wss://127.0.0.1:{silent.getsockname()[1]}"
        config = "[modules.slow]\ntimeout = 30\n"
        with exporter(tmp_path, config, None, "--max-concurrent", "1") as running:
            headers = {"X-Prometheus-Scrape-Timeout-Seconds": "4"}
            answers: list[tuple[int, str, float]] = []
            first = threading.Thread(
                target=lambda: answers.append(
                    running.get(f"/probe?target={target}&module=slow", headers)
                )
            )
            first.start()
            time.sleep(0.3)
            # The one slot is taken while the first probe's TLS step waits (1.75 s): the
            # second gets 503 when its own time (1 s) is up.
            busy = running.get(
                f"/probe?target={target}", {"X-Prometheus-Scrape-Timeout-Seconds": "1.6"}
            )
            first.join(timeout=20)
    status, metrics, took = answers[0]
    assert status == 200
    assert took < 3.5, took  # 4 s less the 0.5 s margin
    assert sample(metrics, "probe_success") == 0
    # Each step got half the probe's time, so the silent step is named, not just "too slow".
    assert 'wsdiag_failure_info{kind="tls_handshake_timeout",stage="tls"} 1.0' in metrics
    assert busy[0] == 503 and "already running" in busy[1]


def test_a_probe_out_of_time_answers_with_what_it_measured() -> None:
    import socket

    from wsdiag.exporter.modules import Module
    from wsdiag.exporter.probe import run_probe

    done = threading.Event()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        target = f"wss://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        outcome = run_probe(target, Module(timeout=30), {}, 0.3, done.set)
        took = time.monotonic() - started
        assert done.wait(5)  # the check itself still ends, by its own step timeout
    assert outcome.timed_out and took < 0.5
    metrics = outcome.metrics().decode()
    assert sample(metrics, "probe_success") == 0
    assert 'kind="probe_timeout"' in metrics
    assert 'wsdiag_stage_success{stage="reach"} 1.0' in metrics  # measured before the deadline


def test_usage_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[modules.m]\nsecret = "plain-secret"\n')
    outcome = run_wsdiag("exporter", "--config", str(bad), home=tmp_path, limit=30)
    assert outcome.exit_code == 2
    assert "secret must be a reference" in outcome.stderr
    assert "plain-secret" not in outcome.stderr
    listen = run_wsdiag("exporter", "--listen", "127.0.0.1:http", home=tmp_path, limit=30)
    assert listen.exit_code == 2 and "HOST:PORT" in listen.stderr
    with socket_in_use() as port:
        taken = run_wsdiag("exporter", "--listen", f"127.0.0.1:{port}", home=tmp_path, limit=30)
    assert taken.exit_code == 2 and "cannot listen on" in taken.stderr
    assert "Traceback" not in outcome.stderr + listen.stderr + taken.stderr


@contextlib.contextmanager
def socket_in_use() -> Iterator[int]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


def test_sigterm_stops_it(tmp_path: Path) -> None:
    with exporter(tmp_path) as running:
        running.proc.send_signal(signal.SIGTERM)
        running.proc.wait(timeout=10)
    assert running.proc.returncode == 143


def probe_job(name: str, module: str, targets: list[str], exporter_address: str) -> str:
    """A scrape job as blackbox_exporter's are written: the target a parameter, the exporter
    the address (examples/prometheus/prometheus.yml)."""
    listed = ", ".join(f"'{t}'" for t in targets)
    return f"""  - job_name: {name}
    metrics_path: /probe
    params:
      module: [{module}]
    static_configs:
      - targets: [{listed}]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: {exporter_address}
"""


def test_prometheus_scrapes_it(tmp_path: Path, soketi: Soketi) -> None:
    secret_file = tmp_path / "secret"
    env = {"TEST_APP_ID": soketi.app_id}
    with (
        exporter(tmp_path, config_for(soketi, secret_file), env) as running,
        refused_port() as closed,
    ):
        good, broken = f"ws://127.0.0.1:{soketi.port}", f"ws://127.0.0.1:{closed}"
        exporter_address = f"127.0.0.1:{running.port}"
        config = (
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
            + probe_job("pusher", "end_to_end", [good, broken], exporter_address)
            + probe_job("pusher_wrong_key", "wrong_key", [good], exporter_address)
        )
        with start_prometheus(tmp_path, config) as prometheus:
            deadline = time.monotonic() + 30
            values: dict[str, float] = {}
            while time.monotonic() < deadline and len(values) < 3:
                values = {
                    (r["metric"]["job"], r["metric"]["instance"]): float(r["value"][1])
                    for r in prometheus.query('probe_success{job=~"pusher.*"}')
                }
                time.sleep(0.5)
            up = prometheus.query('up{job=~"pusher.*"}')
    expected = {("pusher", good): 1.0, ("pusher", broken): 0.0, ("pusher_wrong_key", good): 0.0}
    assert values == expected, (values, prometheus.log.read_text()[-1500:])
    assert all(float(r["value"][1]) == 1 for r in up), up  # every scrape answered in time


def test_a_broken_reference_frees_its_slot(tmp_path: Path, soketi: Soketi) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"\xff\xfe not utf-8")
    config = f'[modules.bad]\nkey = "k"\napp_id = "1"\nsecret = "file:{secret}"\n'
    with exporter(tmp_path, config, None, "--max-concurrent", "1") as running:
        for _ in range(3):  # the one slot comes back each time
            status, metrics, _ = running.get(f"/probe?target={soketi.ws_url}&module=bad")
            assert status == 200
            assert 'wsdiag_failure_info{kind="invalid_input",stage="config"} 1.0' in metrics
        _, own, _ = running.get("/metrics")
    assert "wsdiag_exporter_probes_in_flight 0.0" in own


def test_the_budget_is_bounded() -> None:
    from wsdiag.exporter.server import _budget

    assert _budget("inf") == 300.0 and _budget("nan") == 30.0 and _budget("0.2") == 1.0
    assert _budget("10") == 9.5 and _budget(None) == 30.0 and _budget("x") == 30.0
