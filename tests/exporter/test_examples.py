"""examples/prometheus: the alert rules pass their promtool unit tests, the config is valid,
and every metric the rules and the dashboard use is one a real probe exports."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import trustme

from tests.servers.prometheus import promtool
from tests.servers.relay import relay_on
from tests.servers.soketi import Soketi
from tests.servers.tls import make_context
from wsdiag.exporter.modules import Module
from wsdiag.exporter.server import Exporter

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "prometheus"
METRIC = re.compile(r"\b((?:probe|wsdiag)_[a-z_]+)\b")


def test_alert_rules_pass_their_unit_tests() -> None:
    tested = promtool("test", "rules", str(EXAMPLES / "alerts_test.yml"))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_the_scrape_config_is_valid() -> None:
    checked = promtool("check", "config", str(EXAMPLES / "prometheus.yml"))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def used_metrics() -> set[str]:
    alerts = (EXAMPLES / "alerts.yml").read_text()
    dashboard = json.loads((EXAMPLES / "grafana-dashboard.json").read_text())
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    expressions += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return {m for text in [alerts, *expressions] for m in METRIC.findall(text)}


def exported(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


@pytest.mark.soketi
def test_every_metric_used_is_exported(soketi: Soketi, tmp_path: Path) -> None:
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    secret = tmp_path / "secret"
    secret.write_text(soketi.secret)
    module = Module(
        name="end_to_end",
        key=soketi.key,
        app_id=soketi.app_id,
        secret=f"file:{secret}",
        timeout=3,
        events=2,
        ca_bundle=str(bundle),
        enabled_transports=("ws", "wss"),
    )
    exporter = Exporter({"end_to_end": module}, {}, log=io.StringIO())
    upstream = (soketi.host, soketi.port)
    with relay_on(["127.0.0.1"], upstream, context=make_context(ca, "127.0.0.1")) as port:
        probe = exporter.answer(f"/probe?target=wss://127.0.0.1:{port}&module=end_to_end", {})
    own = exporter.answer("/metrics", {})
    text = probe.body.decode()
    assert "probe_success 1.0" in text, text
    assert "probe_ssl_earliest_cert_expiry" in text
    used = used_metrics()
    assert {"probe_success", "wsdiag_events_lost", "wsdiag_exporter_probes_total"} <= used
    missing = used - exported(text) - exported(own.body.decode())
    assert not missing, f"the examples use metrics the exporter never exports: {missing}"
