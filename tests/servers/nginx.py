"""nginx, a real reverse proxy and TLS terminator, started on a free loopback port.

Debian's ``nginx-light``, installed by ``scripts/testbed/install``. The tests
write the ``server`` block (``listen … ssl``, a path prefix routed to soketi);
this helper wraps it in a config whose every path is under the test's
directory, starts nginx in the foreground (no daemon, no master process) and
stops it on exit. Without nginx the tests that need it skip, except under CI,
where a missing server is a failure: there the install step is part of the
test command.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests.servers.process import PortTaken, on_a_free_port, stop
from tests.servers.soketi import listening_ports

BINARY = shutil.which("nginx") or "/usr/sbin/nginx"


@dataclass(frozen=True)
class Nginx:
    port: int
    ca_bundle: str  # PEM of the CA that signed the certificate in ``cert`` (for wss:// tests)


def require_nginx() -> None:
    if Path(BINARY).exists():
        return
    message = "nginx is not installed (Debian: nginx-light): run scripts/testbed/install"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def upgrade_proxy(upstream_port: int) -> str:
    """The proxy lines a WebSocket location needs: HTTP/1.1 and the hop-by-hop upgrade headers."""
    return (
        f"proxy_pass http://127.0.0.1:{upstream_port}/;\n"
        "proxy_http_version 1.1;\n"
        "proxy_set_header Upgrade $http_upgrade;\n"
        'proxy_set_header Connection "upgrade";\n'
        "proxy_set_header Host $host;\n"
    )


@contextlib.contextmanager
def start_nginx(tmp_path: Path, server: str, http: str = "") -> Iterator[Nginx]:
    """nginx with one ``server { … }`` block; ``{port}`` and ``{cert}`` in it are filled in.

    ``http``: more of the http block beside the server (an ``upstream`` of nodes).

    ``{cert}`` is a PEM file with a trustme certificate for 127.0.0.1 and its key.
    """
    require_nginx()
    root = tmp_path / f"nginx-{time.monotonic_ns()}"
    root.mkdir()
    ca = trustme.CA()
    cert = root / "server.pem"
    ca.issue_cert("127.0.0.1", "localhost").private_key_and_cert_chain_pem.write_to_path(str(cert))
    bundle = root / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    proc, port = on_a_free_port(lambda port: _launch(root, port, server, http, cert))
    try:
        yield Nginx(port, str(bundle))
    finally:
        stop(proc)


def _launch(
    root: Path, port: int, server: str, http: str, cert: Path
) -> tuple[subprocess.Popen[bytes], int]:
    temp_paths = "\n".join(
        f"  {kind}_temp_path {root / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (root / "nginx.conf").write_text(
        f"""daemon off;
master_process off;
worker_processes 1;
pid {root / "nginx.pid"};
error_log {root / "error.log"} info;
events {{ worker_connections 64; }}
http {{
  access_log off;
{temp_paths}
{http}
  server {{
{server.format(port=port, cert=cert)}
  }}
}}
"""
    )
    log = root / "stderr.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [BINARY, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(log)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_listening(port, proc, root)
    except BaseException:
        stop(proc)
        raise
    return proc, port


def _wait_listening(port: int, proc: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            logs = "".join(p.read_text() for p in root.glob("*.log"))
            lost = PortTaken if "Address already in use" in logs else RuntimeError
            raise lost(f"nginx exited with {proc.returncode}: {logs[-2000:]}")
        if port in listening_ports(proc.pid):  # nginx itself, not whoever took the port
            return
        time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on port {port} within 10 s")
