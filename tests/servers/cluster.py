"""A scaled-out self-hosted deployment: soketi nodes behind nginx's round-robin balancer.

``nodes(tmp_path, adapter)``: two soketi nodes of one app, sharing a real Redis
(``adapter="redis"``, each node its own connection) or each on its own
(``"local"``: the fault of nodes that do not share pub/sub), behind nginx, which
alternates connections and requests between them and names the node it used in
an ``X-Served-By`` header (the WebSocket upgrade's 101 included).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.servers.nginx import start_nginx
from tests.servers.redis import Redis, start_redis
from tests.servers.soketi import Soketi, start_soketi

BALANCER = """
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://pusher_nodes;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header Host $host;
      proxy_read_timeout 60s;
      add_header X-Served-By $upstream_addr always;
    }}
"""


@dataclass(frozen=True)
class Deployment:
    url: str  # the balancer
    app: Soketi  # the app's credentials (the first node)
    nodes: tuple[Soketi, ...]
    redis: Redis | None


@contextlib.contextmanager
def nodes(tmp_path: Path, adapter: str = "redis", count: int = 2) -> Iterator[Deployment]:
    with contextlib.ExitStack() as stack:
        redis = stack.enter_context(start_redis(tmp_path)) if adapter == "redis" else None
        settings = {"SOKETI_ADAPTER_DRIVER": adapter}
        if redis is not None:
            settings |= {
                "SOKETI_DB_REDIS_HOST": "127.0.0.1",
                "SOKETI_DB_REDIS_PORT": str(redis.port),
            }
        started = tuple(stack.enter_context(start_soketi(**settings)) for _ in range(count))
        upstream = "\n".join(f"    server 127.0.0.1:{node.port};" for node in started)
        http = f"  upstream pusher_nodes {{\n{upstream}\n  }}"
        balancer = stack.enter_context(start_nginx(tmp_path, BALANCER, http))
        yield Deployment(f"ws://127.0.0.1:{balancer.port}", started[0], started, redis)
