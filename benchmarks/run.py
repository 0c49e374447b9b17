"""wsdiag benchmarks: each figure beside a baseline run on the same machine, as a ratio.

    .venv/bin/python -m benchmarks.run            # all sections
    .venv/bin/python -m benchmarks.run startup    # one section: startup, answer, tail

startup  `wsdiag --help`, `--version` and a TAB completion vs `python -c pass` (the
         interpreter alone) and `python -c "import click"` (the floor for a click CLI).
answer   time to a verdict against a local soketi: `wsdiag connect` (every layer up to
         the Pusher handshake) vs the same handshake with bare websocket-client and
         vs `curl` sending the upgrade (one layer, no Pusher); then the delivery latency
         wsdiag reports direct and through tinyproxy, side by side.
tail     events per second through `wsdiag tail --json` vs a bare websocket-client
         reader of the same burst, both against soketi.

Figures are medians of several runs. They measure, they do not assert: tests check
behaviour, and a slow CI machine must not fail the build.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHER_", "WSDIAG_"))}


def timed(command: Sequence[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env or ENV, capture_output=True, check=False, timeout=120)
    return (time.perf_counter() - started) * 1000


def median_ms(fn: Callable[[], float], runs: int) -> float:
    fn()  # warm the page cache and .pyc files
    return statistics.median(fn() for _ in range(runs))


def row(label: str, value: float, baseline: float, unit: str = "ms") -> None:
    print(f"  {label:<44} {value:>9.1f} {unit:<4} {value / baseline:>6.2f}x")


def startup(runs: int = 15) -> None:
    print("startup (median of", runs, "runs; ratio to `python -c pass`)")
    interpreter = median_ms(lambda: timed([PYTHON, "-c", "pass"]), runs)
    row("python -c pass (baseline)", interpreter, interpreter)
    row(
        'python -c "import click"',
        median_ms(lambda: timed([PYTHON, "-c", "import click"]), runs),
        interpreter,
    )
    wsdiag = [PYTHON, "-m", "wsdiag"]
    row("wsdiag --help", median_ms(lambda: timed([*wsdiag, "--help"]), runs), interpreter)
    row("wsdiag --version", median_ms(lambda: timed([*wsdiag, "--version"]), runs), interpreter)
    complete = {
        **ENV,
        "_WSDIAG_COMPLETE": "bash_complete",
        "COMP_WORDS": "wsdiag ch",
        "COMP_CWORD": "1",
    }
    row(
        "wsdiag <TAB> (bash completion)",
        median_ms(lambda: timed(wsdiag, complete), runs),
        interpreter,
    )


def _soketi() -> Any:
    sys.path.insert(0, str(ROOT))
    from tests.servers.soketi import start_soketi

    return start_soketi()


BARE_HANDSHAKE = """
import sys, websocket
ws = websocket.create_connection(sys.argv[1], timeout=5)
print(ws.recv())
"""


def answer(runs: int = 10) -> None:
    print(f"time to an answer against a local soketi (median of {runs}; ratio to bare handshake)")
    with _soketi() as server:
        url = f"{server.ws_url}/app/{server.key}?protocol=7&client=bench&version=0"
        bare = median_ms(lambda: timed([PYTHON, "-c", BARE_HANDSHAKE, url]), runs)
        row("websocket-client handshake only (baseline)", bare, bare)
        http_get = [
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "--max-time",
            "5",
            f"http://{server.host}:{server.port}/",
        ]
        row(
            "curl GET / (one HTTP request, no WebSocket)",
            median_ms(lambda: timed(http_get), runs),
            bare,
        )
        connect = [PYTHON, "-m", "wsdiag", "connect", server.ws_url, "--key", server.key, "--json"]
        row(
            "wsdiag connect (DNS, TCP, upgrade, Pusher)",
            median_ms(lambda: timed(connect), runs),
            bare,
        )
        check = [PYTHON, "-m", "wsdiag", "check", server.ws_url, "--key", server.key, "--json"]
        row("wsdiag check (+ 5 pings)", median_ms(lambda: timed(check), runs), bare)
        _latency_through_a_proxy(server)


def _delivery_median(server: Any, *extra: str) -> float:
    """Median end-to-end latency wsdiag reports for 20 events (from its JSON)."""
    command = [PYTHON, "-m", "wsdiag", "check", server.ws_url, "--key", server.key]
    command += ["--app-id", server.app_id, "--secret", server.secret, "--events", "20", "--json"]
    done = subprocess.run(
        [*command, *extra], env=ENV, capture_output=True, text=True, timeout=120, check=False
    )
    results = json.loads(done.stdout)["results"]
    return float(next(r["details"]["median"] for r in results if r["stage"] == "delivery"))


def _latency_through_a_proxy(server: Any, runs: int = 5) -> None:
    """What wsdiag reports as delivery latency, direct and through tinyproxy, side by side.

    Through a proxy the figure must be as honest as direct (issue 9 #7): on
    loopback the two should differ by the proxy's own copy, about a millisecond.
    """
    import shutil
    import tempfile

    if shutil.which("tinyproxy") is None:
        print("  (tinyproxy not installed: no proxy figures; scripts/testbed/install adds it)")
        return
    from tests.servers.proxy import forward_proxy

    print(f"reported delivery latency, median of {runs} runs of --events 20 (ratio to direct)")
    with tempfile.TemporaryDirectory() as workdir, forward_proxy(Path(workdir)) as port:
        direct = statistics.median(
            _delivery_median(server, "--proxy", "direct") for _ in range(runs)
        )
        proxied = statistics.median(
            _delivery_median(server, "--proxy", f"http://127.0.0.1:{port}") for _ in range(runs)
        )
    row("delivery median, direct (baseline)", direct, direct)
    row("delivery median, through tinyproxy", proxied, direct)


BARE_READER = """
import json, sys, time, websocket
ws = websocket.create_connection(sys.argv[1], timeout=10)
ws.recv()
ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": "bench"}}))
ws.recv()
print("ready", flush=True)
count, want = 0, int(sys.argv[2])
while count < want:
    if json.loads(ws.recv()).get("event") == "tick":
        count += 1
print(count)
"""


def tail(events: int = 5000) -> None:
    print(f"tail throughput: a burst of {events} events over the HTTP API (ratio to bare reader)")
    with _soketi() as server:
        url = f"{server.ws_url}/app/{server.key}?protocol=7&client=bench&version=0"
        bare = _burst(
            server, [PYTHON, "-c", BARE_READER, url, str(events)], events, wait_ready=True
        )
        row("bare websocket-client reader (baseline)", bare, bare, "ev/s")
        tail_cmd = [
            PYTHON,
            "-m",
            "wsdiag",
            "tail",
            server.ws_url,
            "bench",
            "--key",
            server.key,
            "--json",
            "--count",
            str(events),
        ]
        row("wsdiag tail --json", _burst(server, tail_cmd, events, wait_ready=False), bare, "ev/s")


def _burst(server: Any, command: list[str], events: int, *, wait_ready: bool) -> float:
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=ENV
    )
    if wait_ready:
        assert process.stdout is not None
        process.stdout.readline()
    else:
        time.sleep(1.5)  # tail starts, connects and subscribes well within this
    started = time.perf_counter()
    _publish(server, events)
    process.communicate(timeout=300)
    return events / (time.perf_counter() - started)


def _publish(server: Any, events: int) -> None:
    batch = ROOT / ".testbed" / "bench-batch.jsonl"
    batch.write_text(
        "".join(
            json.dumps({"name": "tick", "data": json.dumps({"n": n})}) + "\n" for n in range(events)
        )
    )
    subprocess.run(
        [
            PYTHON,
            "-m",
            "wsdiag",
            "publish",
            server.ws_url,
            "bench",
            "--batch",
            str(batch),
            "--app-id",
            server.app_id,
            "--key",
            server.key,
            "--secret",
            server.secret,
            "-q",
        ],
        env=ENV,
        check=True,
        capture_output=True,
        timeout=300,
    )


SECTIONS = {"startup": startup, "answer": answer, "tail": tail}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(SECTIONS):
        SECTIONS[name]()
        print()
