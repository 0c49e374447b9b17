"""The readers timed against the burst server (tests/servers/burst.py): ``wsdiag tail``
(NDJSON and console), a bare websocket-client loop doing the same work, and node's ``ws``
client when node and the package are installed.

A reader's figure is events per second from its subscription to its last line on stdout;
every reader must print every event (sequence numbers checked), so a fast reader that drops
events shows as loss.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.processes import ENV, ROOT
from tests.servers.burst import BurstServer, burst_server

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


SEQUENCE = re.compile(rb'"seq":(\d+)')  # in an NDJSON line and in a console line alike


def time_reader(command: list[str], server: BurstServer, count: int) -> Run:
    """Run one reader against the server; events/s from its subscription to its last line.

    The reader's output is read in large chunks and its sequence numbers checked with one
    regular expression per chunk: the harness shares the machine with the reader it times,
    and parsing every line in Python here would cap the fastest readers (it capped node's).
    """
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV)
    assert process.stdout is not None
    fd = process.stdout.fileno()
    received, in_order, last, reads, peak = 0, True, time.perf_counter(), 0, 0.0
    partial = b""
    while chunk := os.read(fd, 1 << 20):
        last = time.perf_counter()
        text = partial + chunk
        cut = text.rfind(b"\n") + 1
        lines, partial = text[:cut], text[cut:]
        numbers = SEQUENCE.findall(lines)
        lines_here = lines.count(b"\n")
        if in_order:
            expected = [str(n).encode() for n in range(received, received + lines_here)]
            in_order = numbers == expected
        received += lines_here
        reads += 1
        if reads % 16 == 0:
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
