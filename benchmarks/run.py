"""wsdiag benchmarks: each figure beside a baseline run on the same machine, as a ratio.

    .venv/bin/python -m benchmarks.run            # all sections
    .venv/bin/python -m benchmarks.run startup    # one section: startup, answer, tail

startup  `wsdiag --help`, `--version` and a TAB completion vs `python -c "import click"`
         (the floor for a click CLI) and `python -c pass` (the interpreter alone).
answer   time to a verdict against a local soketi: `wsdiag connect` (every layer up to
         the Pusher handshake) vs the same handshake with bare websocket-client and
         vs `curl` sending the upgrade (one layer, no Pusher); `check` with credentials
         vs `wsdiag --help`, beside the floor (python importing the modules the stack
         gives for the check); the delivery latency wsdiag reports direct and through
         tinyproxy; the ping RTT it reports through a relay adding 25 ms each way vs a
         bare websocket-client ping through the same relay.
tail     events per second of one loopback burst (benchmarks/burst.py; 100,000 events of
         ~100 B and 10,000 of ~10 KB) read by a bare websocket-client loop doing the same
         work (the baseline), node's `ws` client (when installed), `wsdiag tail --json`
         and console `tail`, every event checked in order; then tail's peak memory at
         100,000 and 1,000,000 events.

Commands compared are run in turn, round after round, and figures are medians of the
rounds. They measure, they do not assert: tests check behaviour, and a slow CI machine
must not fail the build.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.processes import ENV, PYTHON, ROOT, compile_bytecode


def timed(command: Sequence[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env or ENV, capture_output=True, check=False, timeout=120)
    return (time.perf_counter() - started) * 1000


Timed = tuple[Sequence[str], dict[str, str] | None]  # a command and its environment


def side_by_side(commands: Sequence[Timed], runs: int) -> list[float]:
    """Median wall ms of each command, run in turn round after round (A B C A B C …): a
    noisy neighbour slows every command of a round alike, so the ratios hold."""
    samples: list[list[float]] = [[] for _ in commands]
    for round_number in range(runs + 1):
        for taken, (command, env) in zip(samples, commands, strict=True):
            wall = timed(command, env)
            if round_number:  # the first round warms the page cache and .pyc files
                taken.append(wall)
    return [statistics.median(taken) for taken in samples]


def row(label: str, value: float, baseline: float, unit: str = "ms") -> None:
    print(f"  {label:<44} {value:>9.1f} {unit:<4} {value / baseline:>6.2f}x")


def startup(runs: int = 15) -> None:
    print(f"startup (median of {runs} rounds; ratio to `python -c 'import click'`, the floor)")
    wsdiag = [PYTHON, "-m", "wsdiag"]
    complete = {
        **ENV,
        "_WSDIAG_COMPLETE": "bash_complete",
        "COMP_WORDS": "wsdiag ch",
        "COMP_CWORD": "1",
    }
    figures: list[tuple[str, Timed]] = [
        ('python -c "import click" (baseline)', ([PYTHON, "-c", "import click"], None)),
        ("python -c pass", ([PYTHON, "-c", "pass"], None)),
        ("wsdiag --help", ([*wsdiag, "--help"], None)),
        ("wsdiag --version", ([*wsdiag, "--version"], None)),
        ("wsdiag <TAB> (bash completion)", (wsdiag, complete)),
    ]
    medians = side_by_side([command for _, command in figures], runs)
    for (label, _), value in zip(figures, medians, strict=True):
        row(label, value, medians[0])


def _soketi() -> Any:
    sys.path.insert(0, str(ROOT))
    from tests.servers.soketi import start_soketi

    return start_soketi()


STACK_IMPORTS = "import click, ssl, socket, http.client, websocket, hashlib, hmac, json"

BARE_HANDSHAKE = """
import sys, websocket
ws = websocket.create_connection(sys.argv[1], timeout=5)
print(ws.recv())
"""


def answer(runs: int = 10) -> None:
    print(f"time to an answer against a local soketi (median of {runs} rounds)")
    with _soketi() as server:
        url = f"{server.ws_url}/app/{server.key}?protocol=7&client=bench&version=0"
        http_get = ["curl", "-s", "-o", "/dev/null", "--max-time", "5"]
        http_get.append(f"http://{server.host}:{server.port}/")
        wsdiag = [PYTHON, "-m", "wsdiag"]
        connect = [*wsdiag, "connect", server.ws_url, "--key", server.key, "--json"]
        check = [*wsdiag, "check", server.ws_url, "--key", server.key, "--json"]
        full = [*check, "--app-id", server.app_id, "--secret", server.secret]
        figures: list[tuple[str, Timed]] = [
            (
                "websocket-client handshake only (baseline)",
                ([PYTHON, "-c", BARE_HANDSHAKE, url], None),
            ),
            ("curl GET / (one HTTP request, no WebSocket)", (http_get, None)),
            ("wsdiag connect (DNS, TCP, upgrade, Pusher)", (connect, None)),
            ("wsdiag check (+ 5 pings)", (check, None)),
            ("wsdiag --help", ([*wsdiag, "--help"], None)),
            ("wsdiag check with credentials (every stage)", (full, None)),
            # What any check pays before its own code: the interpreter, click and the
            # modules the stack gives for sockets, TLS, HTTP, WebSocket, signing, JSON.
            ("floor: python importing those modules", ([PYTHON, "-c", STACK_IMPORTS], None)),
        ]
        medians = dict(
            zip(
                [label for label, _ in figures],
                side_by_side([command for _, command in figures], runs),
                strict=True,
            )
        )
        bare = medians["websocket-client handshake only (baseline)"]
        for label, _ in figures[:4]:
            row(label, medians[label], bare)
        print("check with credentials (same rounds; ratio to `wsdiag --help`)")
        help_wall = medians["wsdiag --help"]
        row("wsdiag --help (baseline)", help_wall, help_wall)
        for label, _ in figures[5:]:
            row(label, medians[label], help_wall)
        _latency_through_a_proxy(server)
    _ping_accuracy()


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


BARE_PING = """
import json, statistics, sys, time, websocket
ws = websocket.create_connection(sys.argv[1], timeout=10)
ws.recv()
samples = []
for _ in range(int(sys.argv[2])):
    started = time.perf_counter()
    ws.send(json.dumps({"event": "pusher:ping", "data": {}}))
    while json.loads(ws.recv()).get("event") != "pusher:pong":
        pass
    samples.append((time.perf_counter() - started) * 1000)
print(statistics.median(samples))
"""


def _ping_accuracy(delay_ms: float = 25.0, pings: int = 20, runs: int = 5) -> None:
    """The ping RTT wsdiag reports through a relay adding ``delay_ms`` each way, beside a bare
    websocket-client ping through the same relay: reporting must add nothing of its own."""
    from benchmarks.delay import delay_relay

    print(f"reported ping RTT through a relay adding {delay_ms:g} ms each way (median of {runs})")
    with _soketi() as server, delay_relay((server.host, server.port), delay_ms / 1000) as port:
        url = f"ws://127.0.0.1:{port}"
        app = f"{url}/app/{server.key}?protocol=7&client=bench&version=0"

        def bare() -> float:
            done = subprocess.run(
                [PYTHON, "-c", BARE_PING, app, str(pings)],
                capture_output=True,
                text=True,
                env=ENV,
                timeout=60,
                check=False,
            )
            return float(done.stdout.strip())

        def reported() -> float:
            command = [PYTHON, "-m", "wsdiag", "connect", url, "--key", server.key]
            done = subprocess.run(
                [*command, "--pings", str(pings), "--json", "--timeout", "5"],
                capture_output=True,
                text=True,
                env=ENV,
                timeout=60,
                check=False,
            )
            results = json.loads(done.stdout)["results"]
            return float(next(r["details"]["median"] for r in results if r["stage"] == "ping"))

        baseline = statistics.median(bare() for _ in range(runs))
        figure = statistics.median(reported() for _ in range(runs))
    row("bare websocket-client ping (baseline)", baseline, baseline)
    row("wsdiag connect, reported ping median", figure, baseline)
    print(f"  {'difference':<44} {figure - baseline:>+9.2f} ms")


def tail(events: int = 100_000, million: bool = True) -> None:
    """Readers of one loopback burst, side by side; ratios to the bare websocket-client loop."""
    from benchmarks.burst import BARE_READER, NODE_READER, burst_server, node_ws_module, time_reader

    node = node_ws_module()
    for payload, count in ((100, events), (10_000, events // 10)):
        print(f"tail throughput: {count:,} events of ~{payload:,} B burst from a loopback server")
        with burst_server(count, payload) as server:
            url = f"ws://127.0.0.1:{server.port}"
            app = f"{url}/app/k?protocol=7&client=bench&version=0"
            tail_cmd = [PYTHON, "-m", "wsdiag", "tail", url, "bench", "--key", "k"]
            readers = [
                (
                    "bare websocket-client loop (baseline)",
                    [PYTHON, "-c", BARE_READER, app, str(count)],
                ),
                ("wsdiag tail --json", [*tail_cmd, "--json", "--count", str(count)]),
                ("wsdiag tail (console)", [*tail_cmd, "--count", str(count)]),
            ]
            if node:
                readers.insert(
                    1, ("node ws client", ["node", "-e", NODE_READER, app, str(count), node])
                )
            baseline = None
            for label, command in readers:
                run = time_reader(command, server, count)
                baseline = baseline or run.events_per_s
                lost = (
                    ""
                    if run.received == count and run.in_order
                    else f"  LOSS/ORDER: {run.received:,}"
                )
                row(label, run.events_per_s, baseline, "ev/s")
                if lost or run.peak_rss_mb:
                    print(f"  {'':<44} peak {run.peak_rss_mb or 0:.1f} MB{lost}")
        if not node:
            print("  (node or its ws package not installed: no node figure)")
    if million:
        _tail_memory()


def _tail_memory() -> None:
    """Peak memory of tail --json over 100,000 and 1,000,000 events: flat means no growth."""
    from benchmarks.burst import burst_server, time_reader

    print("tail --json memory (peak RSS; flat means nothing kept per event)")
    peaks = []
    for count in (100_000, 1_000_000):
        with burst_server(count, 100) as server:
            url = f"ws://127.0.0.1:{server.port}"
            command = [PYTHON, "-m", "wsdiag", "tail", url, "bench", "--key", "k", "--json"]
            run = time_reader([*command, "--count", str(count)], server, count)
        peaks.append(run.peak_rss_mb or 0.0)
        ok = run.received == count and run.in_order
        print(
            f"  {count:>9,} events: peak {peaks[-1]:.1f} MB, {'0 lost, in order' if ok else 'LOSS'}"
        )
    print(f"  {'growth from 100k to 1M':<44} {peaks[1] - peaks[0]:>+9.1f} MB")


SECTIONS = {"startup": startup, "answer": answer, "tail": tail}


if __name__ == "__main__":
    compile_bytecode()
    for name in sys.argv[1:] or list(SECTIONS):
        SECTIONS[name]()
        print()
