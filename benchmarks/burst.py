"""The readers timed against the burst server (tests/servers/burst.py): ``wsdiag tail``
(NDJSON and console), a bare websocket-client loop doing the same work, and node's ``ws``
client when node and the package are installed.

A reader's figure is events per second from its subscription to its last line on stdout;
every reader must print every event (sequence numbers checked), so a fast reader that drops
events shows as loss.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.servers.burst import BurstServer, burst_server

ROOT = Path(__file__).resolve().parents[1]
__all__ = ["BurstServer", "burst_server"]


BARE_READER = """
import json, sys, websocket
ws = websocket.create_connection(sys.argv[1], timeout=30)
ws.recv()
ws.send(json.dumps({"event": "pusher:subscribe", "data": {"channel": "bench"}}))
ws.recv()
out, want, count = sys.stdout, int(sys.argv[2]), 0
while count < want:
    frame = json.loads(ws.recv())
    record = {"channel": frame.get("channel"), "event": frame["event"],
              "data": json.loads(frame["data"])}
    out.write(json.dumps(record, separators=(",", ":")) + "\\n")
    count += 1
out.flush()
"""

NODE_READER = """
const WebSocket = require(process.argv[3]);
const want = Number(process.argv[2]);
let count = 0, subscribed = false, pending = [];
const ws = new WebSocket(process.argv[1]);
ws.on('message', (text) => {
  const frame = JSON.parse(text);
  if (!subscribed) {
    subscribed = true;
    ws.send(JSON.stringify({event: 'pusher:subscribe', data: {channel: 'bench'}}));
    return;
  }
  if (frame.event !== 'tick') return;
  pending.push(JSON.stringify({channel: frame.channel, event: frame.event,
                               data: JSON.parse(frame.data)}));
  if (++count === want || pending.length >= 1000) {
    process.stdout.write(pending.join('\\n') + '\\n');
    pending = [];
  }
  if (count === want) ws.close();
});
"""


def node_ws_module() -> str | None:
    """node's ``ws`` package from the test bed (soketi depends on it), when node is here."""
    module = ROOT / ".testbed" / "soketi" / "node_modules" / "ws"
    return str(module) if shutil.which("node") and module.is_dir() else None


@dataclass(frozen=True)
class Run:
    events_per_s: float
    received: int
    in_order: bool  # every sequence number once, in order (NDJSON readers)
    peak_rss_mb: float | None


def time_reader(command: list[str], server: BurstServer, count: int, *, check_order: bool) -> Run:
    """Run one reader against the server; events/s from its subscription to its last line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHER_", "WSDIAG_"))}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert process.stdout is not None
    received, expected, in_order, last = 0, 0, True, time.perf_counter()
    peak = 0.0
    for line in process.stdout:
        last = time.perf_counter()
        received += 1
        if check_order and in_order:
            seq = json.loads(line)["data"]["seq"]
            in_order, expected = seq == expected, seq + 1
        if received % 5000 == 0:
            peak = max(peak, _peak_rss_mb(process.pid))
    process.wait(timeout=60)
    started = server.subscribed_at[-1] if server.subscribed_at else last
    return Run(count / max(last - started, 1e-9), received, in_order, peak or None)


def _peak_rss_mb(pid: int) -> float:
    """The reader's peak resident memory so far (VmHWM; sampled while it runs, as the
    rusage of a forked child also counts the parent's pages from before exec)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    line = next((x for x in status.splitlines() if x.startswith("VmHWM:")), None)
    return int(line.split()[1]) / 1024 if line else 0.0
