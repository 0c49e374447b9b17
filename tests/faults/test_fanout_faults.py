"""``wsdiag fanout`` against real scaled-out deployments: soketi nodes, Redis, nginx.

Two soketi nodes behind nginx's round-robin balancer (tests/servers/cluster.py):
sharing a real Redis they must pass; each on its own adapter they must fail as
nodes that do not share pub/sub; and when the Redis goes away mid-run the nodes
close their sockets, which fanout names.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.faults.harness import run_wsdiag
from tests.faults.matrix import BY_ID
from tests.servers.cluster import Deployment, nodes
from wsdiag.checks import CheckOptions
from wsdiag.credentials import Credentials
from wsdiag.fanout import run_fanout
from wsdiag.models import ErrorKind, Status
from wsdiag.target import parse_target

pytestmark = pytest.mark.soketi
SCHEMA = json.loads(resources.files("wsdiag").joinpath("schema/fanout-v1.json").read_text())


def fanout(deployment: Deployment, home: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    app = deployment.app
    outcome = run_wsdiag(
        "fanout", deployment.url, "--app-id", app.app_id, "--key", app.key, "--secret",
        app.secret, "--sockets", "6", "--events", "12", "--timeout", "3", "--json", *extra,
        home=home,
    )  # fmt: skip
    assert "Traceback" not in outcome.stderr, outcome.describe()
    document = json.loads(outcome.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)
    assert document["exit_code"] == outcome.exit_code
    return outcome.exit_code, document


def test_nodes_sharing_redis_pass(tmp_path: Path) -> None:
    with nodes(tmp_path, "redis") as deployment:
        code, document = fanout(deployment, tmp_path)
    assert code == 0, document
    assert document["status"] == "ok", document
    assert document["summary"] == (
        "6 sockets each received all 12 events, toOthers() honoured, "
        "presence consistent (6 members)"
    )
    served = {s["node"] for s in document["sockets"]}
    assert len(served) == 2 and all(n.startswith("x-served-by: 127.0.0.1:") for n in served)
    assert all(s["lost"] == [] and s["latency_ms"] for s in document["sockets"])


def test_nodes_on_their_own_adapter_fail_as_a_split(tmp_path: Path) -> None:
    with nodes(tmp_path, "local") as deployment:
        code, document = fanout(deployment, tmp_path)
    fault = BY_ID["fanout.local_adapter"]
    assert code == fault.exit_code and document["kind"] == str(fault.kind), document
    assert document["summary"] == "events published on one node do not reach sockets on another"
    assert "SOKETI_ADAPTER_DRIVER=redis" in document["fix"]
    # round robin: each socket got its own node's half of the events
    assert {s["received"] for s in document["sockets"]} == {6}


def test_redis_lost_mid_run(tmp_path: Path) -> None:
    """Stopped as publishing starts (the run's own progress hook times the fault)."""
    with nodes(tmp_path, "redis") as deployment:
        app = deployment.app
        redis = deployment.redis
        assert redis is not None

        def progress(text: str) -> None:
            if text.startswith("publishing"):
                redis.stop()

        result = run_fanout(
            parse_target(deployment.url, key=app.key),
            Credentials(app.app_id, app.key, app.secret),
            CheckOptions(timeout=3),
            4,
            10,
            progress=progress,
        )
    fault = BY_ID["fanout.redis_lost"]
    assert result.status is Status.FAIL and result.kind is fault.kind, result.summary
    assert result.kind is ErrorKind.PUSHER_RECONNECT
    assert "mid-run (4200" in result.summary
    assert "loses its Redis" in str(result.fix)


def test_fanout_needs_credentials(tmp_path: Path) -> None:
    outcome = run_wsdiag("fanout", "ws://127.0.0.1:6001", "--key", "k", home=tmp_path)
    assert outcome.exit_code == 2
    assert "needs --app-id, --key and --secret" in outcome.stderr
