"""Result records shared by every check and every renderer.

Checks never print and never raise for an expected failure: they return a
``StageResult``. Renderers turn a ``Report`` (a list of results plus context)
into console lines, JSON or JUnit. Nothing here imports a network library.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from wsdiag.records import record


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIPPED = "skipped"


class Stage(StrEnum):
    RESOLVE = "resolve"
    REACH = "reach"
    TLS = "tls"
    WEBSOCKET = "websocket"
    FALLBACK = "fallback"  # pusher-js's HTTP fallback (xhr_streaming, xhr_polling)
    PING = "ping"
    API = "api"  # the HTTP API: signed requests
    SUBSCRIBE = "subscribe"  # channel subscriptions and their auth
    DELIVERY = "delivery"  # events published over the API and received on the socket
    SOAK = "soak"  # idle connections held for check --soak SECONDS (issue 10)


class ErrorKind(StrEnum):
    """The fixed vocabulary of things that can go wrong (also JSON's ``kind``)."""

    # DNS
    DNS_NXDOMAIN = "dns_nxdomain"
    DNS_NO_ANSWER = "dns_no_answer"
    DNS_SERVFAIL = "dns_servfail"
    DNS_TIMEOUT = "dns_timeout"
    DNS_NO_RESOLVER = "dns_no_resolver"
    DNS_RESOLVER_UNREACHABLE = "dns_resolver_unreachable"  # no route, port unreachable …
    DNS_PRIVATE_ANSWER = "dns_private_answer"  # a warning: captive portal, split horizon, hijack
    # TCP
    TCP_REFUSED = "tcp_refused"
    TCP_FILTERED = "tcp_filtered"
    TCP_UNREACHABLE = "tcp_unreachable"
    TCP_NETWORK_DOWN = "tcp_network_down"
    TCP_RESET = "tcp_reset"
    TCP_PORT_443_BLOCKED = "tcp_443_blocked"  # 443 blocked while 80 is open
    # HTTP proxy (CONNECT tunnels)
    PROXY_DENIED = "proxy_denied"  # CONNECT refused (403): port or host not allowed
    PROXY_AUTH_REQUIRED = "proxy_auth_required"  # 407
    PROXY_UPSTREAM_ERROR = "proxy_upstream_error"  # the proxy could not reach the target
    PROXY_ERROR = "proxy_error"  # no reply, not HTTP, any other status
    # TLS
    TLS_EXPIRED = "tls_expired"
    TLS_NOT_YET_VALID = "tls_not_yet_valid"
    TLS_HOSTNAME_MISMATCH = "tls_hostname_mismatch"
    TLS_UNTRUSTED_ISSUER = "tls_untrusted_issuer"
    TLS_HANDSHAKE_TIMEOUT = "tls_handshake_timeout"
    TLS_NOT_TLS = "tls_not_tls"
    TLS_PROTOCOL_ERROR = "tls_protocol_error"
    TLS_EXPIRES_SOON = "tls_expires_soon"  # a warning
    TLS_VERIFY_DISABLED = "tls_verify_disabled"  # a warning: the user turned verification off
    # WebSocket upgrade
    WS_UPGRADE_REJECTED = "ws_upgrade_rejected"
    WS_TIMEOUT = "ws_timeout"
    WS_CLOSED = "ws_closed"
    WS_PROTOCOL_ERROR = "ws_protocol_error"
    WS_PLAIN_TO_TLS_PORT = "ws_plain_to_tls_port"  # ws:// sent to a port that speaks TLS
    # Pusher protocol
    PUSHER_TLS_REQUIRED = "pusher_4000"
    PUSHER_APP_NOT_FOUND = "pusher_4001"
    PUSHER_APP_DISABLED = "pusher_4003"
    PUSHER_OVER_QUOTA = "pusher_4004"
    PUSHER_PATH_NOT_FOUND = "pusher_4005"
    PUSHER_INVALID_VERSION = "pusher_4006"
    PUSHER_UNSUPPORTED_PROTOCOL = "pusher_4007"
    PUSHER_NO_PROTOCOL = "pusher_4008"
    PUSHER_UNAUTHORIZED = "pusher_4009"
    PUSHER_ORIGIN_NOT_ALLOWED = "pusher_origin_not_allowed"  # 4009 "Origin not allowed" (Reverb)
    PUSHER_OVER_CAPACITY = "pusher_over_capacity"  # 4100-4199
    PUSHER_RECONNECT = "pusher_reconnect"  # 4200-4299
    PUSHER_CLIENT_EVENT_REJECTED = "pusher_client_event_rejected"  # 4300-4399
    PUSHER_ERROR = "pusher_error"  # any other pusher:error / close code
    PUSHER_NO_HANDSHAKE = "pusher_no_handshake"  # no connection_established in time
    PUSHER_BAD_FRAME = "pusher_bad_frame"  # invalid JSON, binary frame, unexpected event
    PUSHER_AUTH_TIMEOUT = "pusher_auth_timeout"  # the 30-second kick: no sign-in in time
    # pusher-js's HTTP fallback
    FALLBACK_NOT_SERVED = "fallback_not_served"  # no fallback routes (404): soketi, Reverb
    FALLBACK_REJECTED = "fallback_rejected"  # another status, not HTTP, or the reply ended
    FALLBACK_TIMEOUT = "fallback_timeout"  # no reply, or a stream buffered by something between
    # fanout: events and presence across the nodes of a deployment (issue 11)
    FANOUT_SPLIT = "fanout_split"  # each node delivers only what was published through it
    FANOUT_PRESENCE_SPLIT = "fanout_presence_split"  # presence members differ per node
    FANOUT_EXCLUSION_IGNORED = "fanout_exclusion_ignored"  # socket_id exclusion not honoured
    FANOUT_DUPLICATES = "fanout_duplicates"  # an event arrived twice on a socket
    FANOUT_OUT_OF_ORDER = "fanout_out_of_order"  # a warning: order differs across nodes
    FANOUT_NO_SOCKETS = "fanout_no_sockets"  # sockets could not connect or subscribe
    # env-lint: a Laravel .env at odds with itself (issue 11)
    ENV_MISMATCH = "env_mismatch"  # two variables that should agree do not
    ENV_LOCALHOST = "env_localhost"  # localhost in a publisher setting inside a container
    # ping
    PING_TIMEOUT = "ping_timeout"
    IDLE_TIMEOUT = "idle_timeout"  # soak: something on the path closes idle connections
    # HTTP API
    API_BAD_REQUEST = "api_400"
    API_UNAUTHORIZED = "api_401"  # invalid signature, wrong key or secret
    API_TIMESTAMP_EXPIRED = "api_timestamp_expired"  # 401 because of clock skew
    API_FORBIDDEN = "api_403"
    API_NOT_FOUND = "api_404"
    API_TOO_LARGE = "api_413"
    API_RATE_LIMITED = "api_429"  # too many requests: the app's (or a gateway's) rate limit
    API_SERVER_ERROR = "api_5xx"
    API_BAD_REPLY = "api_bad_reply"  # not the JSON the API documents
    API_TIMEOUT = "api_timeout"
    API_UNEXPECTED_STATUS = "api_unexpected_status"
    CLOCK_SKEW = "clock_skew"
    INVALID_INPUT = "invalid_input"  # refused before sending: names, sizes, credentials
    # subscriptions and delivery
    SUBSCRIPTION_ERROR = "subscription_error"  # the server refused a subscription
    SUBSCRIPTION_TIMEOUT = "subscription_timeout"
    AUTH_ENDPOINT_ERROR = "auth_endpoint_error"  # the app's auth endpoint failed or replied wrongly
    AUTH_SIGNATURE_MISMATCH = "auth_signature_mismatch"  # signed with the wrong secret/key/string
    EVENT_LOST = "event_lost"  # published, never received
    LATENCY_EXCEEDED = "latency_exceeded"  # --max-latency-ms
    # anything we did not expect: a bug in wsdiag, kept for --debug
    INTERNAL = "internal"


# Kinds whose record sums up several records of its stage (see Report.first_failure).
SUMMING_KINDS = frozenset({ErrorKind.TCP_PORT_443_BLOCKED})


@record
class Phase:
    """One named, timed step inside a stage (``dns``, ``connect``, ``handshake`` …)."""

    name: str
    ms: float


# ---------------------------------------------------------------- typed outcomes
# What a stage found, as later stages and the verdict consume it. ``details`` is
# the JSON serialisation for people and tools; code never reads another stage's
# ``details`` (issue 9), it reads these.


@record
class Resolved:
    """resolve: the addresses clients would connect to, in answer order."""

    host: str
    addresses: tuple[str, ...]


@record
class Probed:
    """reach: one TCP connect (or proxy tunnel) to one address and port."""

    host: str
    address: str  # through a proxy: the host name (the proxy resolves it)
    port: int

    @property
    def family(self) -> str:
        return "ipv6" if ":" in self.address else "ipv4"


@record
class Handshake:
    """websocket: the Pusher handshake's result."""

    socket_id: str | None = None
    activity_timeout: int | None = None
    close_code: int | None = None  # the Pusher/WebSocket code it failed with
    placeholder_key: bool = False  # 4001 to the placeholder key: the service was reached
    transport: str = "ws"  # pusher-js's name of what carried it: ws, xhr_streaming, xhr_polling


@record
class Latency:
    """ping, delivery: round trips or end-to-end times, in ms."""

    samples_ms: tuple[float, ...]
    median: float | None
    p95: float | None


Outcome = Resolved | Probed | Handshake | Latency


@record
class StageResult:
    """What one stage found about one subject (a host, an address, a path).

    ``summary`` is one line that is true whatever the status ("3 addresses",
    "refused"). ``cause`` and ``fix`` are set when status is warn or fail.
    ``details`` holds JSON-ready data only (str, int, float, bool, None, list,
    dict) so every renderer can show it without knowing the stage.
    ``outcome`` is the typed record later stages and the verdict read.
    """

    stage: Stage
    subject: str
    status: Status
    summary: str
    kind: ErrorKind | None = None
    cause: str | None = None
    fix: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    phases: tuple[Phase, ...] = ()
    trace: str | None = None  # traceback of an INTERNAL error, shown only with --debug
    started_ms: float | None = None  # offset from the start of the run, set by the runner
    outcome: Outcome | None = None

    @property
    def elapsed_ms(self) -> float:
        return sum(p.ms for p in self.phases)

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL


@record
class ClientConfig:
    """``check --client``: the client's options that work from here, and the code to paste."""

    client: str  # pusher-js, laravel-echo
    options: tuple[tuple[str, object], ...]  # in the client's own names and order
    snippet: str


@record
class PathSummary:
    """``check --compare-direct``: one path (through the proxy, or direct) in a line."""

    path: str  # "proxy socks5h://127.0.0.1:1080", "direct"
    status: Status
    verdict: str
    handshake_ms: float | None  # the first WebSocket path's time to connection_established
    ping_ms: float | None  # its ping median


@dataclass
class Report:
    """Everything one command measured, in the order it was measured."""

    command: str
    target: str
    results: list[StageResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    client_config: ClientConfig | None = None  # check: what works from here, for the client
    comparison: tuple[PathSummary, ...] = ()  # check --compare-direct: proxy, then direct
    started_at: float = field(default_factory=time.time)  # wall clock, for the JSON timestamp

    @property
    def status(self) -> Status:
        statuses = {r.status for r in self.results}
        if Status.FAIL in statuses:
            return Status.FAIL
        if Status.WARN in statuses:
            return Status.WARN
        if not self.results or statuses == {Status.SKIPPED}:
            return Status.SKIPPED
        return Status.OK

    @property
    def first_failure(self) -> StageResult | None:
        """The first thing that breaks: the earliest failing stage's failure.

        Within that stage a record that sums up several others (443 blocked on
        every address while 80 is open) says more than any one of them.
        """
        failures = [r for r in self.results if r.status is Status.FAIL]
        if not failures:
            return None
        stage = failures[0].stage
        summing = (r for r in failures if r.stage is stage and r.kind in SUMMING_KINDS)
        return next(summing, failures[0])

    @property
    def first_warning(self) -> StageResult | None:
        return next((r for r in self.results if r.status is Status.WARN), None)


class Stopwatch:
    """Monotonic phase timer: ``with sw.phase("connect"): ...`` records a Phase.

    The phase is recorded even when the block raises, so a timeout still
    shows how long we waited.
    """

    def __init__(self) -> None:
        self.phases: list[Phase] = []

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases.append(Phase(name, round((time.perf_counter() - start) * 1000, 3)))

    def frozen(self) -> tuple[Phase, ...]:
        return tuple(self.phases)
