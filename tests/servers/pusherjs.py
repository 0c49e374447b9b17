"""pusher-js, the real client, run in Node against a server: did it reach ``connected``?

Installed by ``scripts/testbed/install`` into ``.testbed/pusher-js`` (npm
``pusher-js@8.6.0``). ``run_pusher_js`` starts ``pusherjs_probe.js`` in Node,
which builds ``new Pusher(key, options)`` as an app configured for a
self-hosted server would, and reads back the JSON the probe prints: the state
changes, the errors with their codes, the sockets it opened (which address each
reached, how each failed) and pusher-js's own debug log.

Without Node or the package the tests that need it skip, except under CI,
where a missing client is a failure: there the install step is part of the test
command.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = "8.6.0"
MODULE = ROOT / ".testbed" / "pusher-js" / "node_modules" / "pusher-js"
PROBE = Path(__file__).with_name("pusherjs_probe.js")
# See tests/differential/test_pusherjs.py for why 6 s: pusher-js makes exactly one
# attempt per transport before its 15 s transport timeout.
DEADLINE_S = 6.0


@dataclass(frozen=True)
class ClientSettings:
    """What an app hands pusher-js for a self-hosted server (or a cluster's own hosts)."""

    key: str
    ws_host: str
    ws_port: int
    wss_port: int
    force_tls: bool
    cluster: str = "mt1"
    # enabledTransports; the default ["ws"] is only the WebSocket on the target's own scheme
    # and port. With forceTLS that is wss on wssPort; without it ws on wsPort (the "wss"
    # transport, a second try on wssPort 2 s later, is a separate name and stays off). No
    # HTTP (xhr_streaming/xhr_polling) fallback: soketi has no sockjs endpoint to fall back
    # to. None: pusher-js's default, every transport, the HTTP fallback on httpHost included.
    transports: tuple[str, ...] | None = ("ws",)

    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "cluster": self.cluster,
            "wsHost": self.ws_host,
            "wsPort": self.ws_port,
            "wssPort": self.wss_port,
            "forceTLS": self.force_tls,
        }
        if self.transports is not None:
            options["enabledTransports"] = list(self.transports)
        return options


@dataclass(frozen=True)
class PusherJsOutcome:
    connected: bool
    report: dict[str, Any]
    stderr: str
    elapsed: float

    def headline(self) -> str:
        """One line: connected, or the state it was left in and the errors that explain it."""
        report = self.report
        if self.connected:
            return f"connected (socket_id {report['socket_id']}) after {report['elapsed_ms']} ms"
        errors = [
            f"{e.get('type')} {e.get('code', '')} {e.get('message', '')}".strip()
            for e in report.get("errors", [])
        ]
        errors += [
            f"{s['kind']} {s['host']}:{s['port']}: {ev['code'] or ev['message']}"
            for s in report.get("sockets", [])
            for ev in s["events"]
            if ev["event"] == "error"
        ]
        return (
            f"not connected: state {report.get('final_state')!r} after "
            f"{report.get('elapsed_ms')} ms (stopped by {report.get('stopped_by')})"
            + (f"; errors: {'; '.join(errors)}" if errors else "; no error reported")
        )

    def describe(self) -> str:
        report = dict(self.report)
        log = report.pop("log", [])
        return (
            f"pusher-js: {self.headline()}\n"
            f"{json.dumps(report, indent=1)[:4000]}\n--- pusher-js log\n"
            + "\n".join(log[-25:])
            + (f"\n--- node stderr\n{self.stderr[-1500:]}" if self.stderr.strip() else "")
        )


def require_pusher_js() -> str:
    """The path of ``node``; skips (fails under CI) when Node or pusher-js is missing."""
    node = shutil.which("node")
    manifest = MODULE / "package.json"
    if node is None:
        message = "Node.js is not installed: the pusher-js differential tests need it"
    elif not manifest.exists():
        message = f"pusher-js is not installed ({MODULE} missing): run scripts/testbed/install"
    elif json.loads(manifest.read_text())["version"] != VERSION:
        message = f"pusher-js in {MODULE} is not {VERSION}: run scripts/testbed/install"
    else:
        return node
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run_pusher_js(
    settings: ClientSettings,
    *,
    home: Path,
    ca_bundle: str | None = None,
    deadline: float = DEADLINE_S,
    prefix: Sequence[str] = (),
) -> PusherJsOutcome:
    """Run the probe to ``connected`` or to its end; ``prefix`` wraps the node command.

    ``ca_bundle`` is given as NODE_EXTRA_CA_CERTS (a private CA added to Node's own
    roots, as a developer would). The environment is otherwise minimal, so no
    NODE_OPTIONS or proxy variable of the caller changes how the client connects.
    """
    node = require_pusher_js()
    config = {
        "module": str(MODULE),
        "key": settings.key,
        "options": settings.options(),
        "deadline_ms": int(deadline * 1000),
    }
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
    if ca_bundle is not None:
        env["NODE_EXTRA_CA_CERTS"] = ca_bundle
    started = time.monotonic()
    done = subprocess.run(
        [*prefix, node, str(PROBE), json.dumps(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=deadline + 20,
        check=False,
    )
    elapsed = time.monotonic() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"the pusher-js probe failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    report: dict[str, Any] = json.loads(lines[-1])
    return PusherJsOutcome(bool(report["connected"]), report, done.stderr, elapsed)
