"""The fault matrix: every fault a user can meet, and what wsdiag must report for it.

One table drives both sides: the fault tests (``tests/faults/test_*.py``) look
their expectation up here by id, and the README's "What wsdiag reports for each
fault" table is rendered from it. ``python -m tests.faults.matrix`` rewrites
that README section; ``test_fault_table.py`` fails when it is stale or when a
fault has no test.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from wsdiag.explain import kind_text
from wsdiag.models import ErrorKind


@dataclass(frozen=True)
class Fault:
    id: str
    layer: str
    what: str  # the fault as a user meets it
    made_by: str  # how the test makes it for real
    kind: ErrorKind
    status: str = "fail"  # status of the record that carries the kind
    exit_code: int = 1
    reports: str = ""  # for commands without a report (tail): what the user sees instead


_K = ErrorKind
FAULTS: tuple[Fault, ...] = (
    # DNS: a dnspython server on loopback, asked with --resolver
    Fault("dns.nxdomain", "DNS", "name does not exist", "DNS server: NXDOMAIN", _K.DNS_NXDOMAIN),
    Fault("dns.servfail", "DNS", "resolver failure", "DNS server: SERVFAIL", _K.DNS_SERVFAIL),
    Fault(
        "dns.no_answer",
        "DNS",
        "name without A/AAAA",
        "DNS server: NOERROR, empty",
        _K.DNS_NO_ANSWER,
    ),
    Fault(
        "dns.silent", "DNS", "resolver never answers", "DNS server: drops queries", _K.DNS_TIMEOUT
    ),
    Fault(
        "dns.resolver_unreachable",
        "DNS",
        "resolver unreachable: nothing listens on its port, or no route to it",
        "--resolver at a closed loopback UDP port; a namespace without a route",
        _K.DNS_RESOLVER_UNREACHABLE,
    ),
    Fault(
        "dns.private",
        "DNS",
        "public cluster answered with a loopback address (then refused there: exit 1)",
        "DNS server: ws-mt1.pusher.com → 127.0.0.1",
        _K.DNS_PRIVATE_ANSWER,
        status="warn",
    ),
    # TCP: loopback and iptables rules inside a network namespace
    Fault(
        "tcp.refused", "TCP", "nothing listens on the port", "closed loopback port", _K.TCP_REFUSED
    ),
    Fault("tcp.filtered", "TCP", "firewall drops the SYN", "iptables -j DROP", _K.TCP_FILTERED),
    Fault(
        "tcp.unreachable",
        "TCP",
        "firewall rejects with ICMP",
        "iptables -j REJECT --reject-with icmp-host-unreachable",
        _K.TCP_UNREACHABLE,
    ),
    Fault(
        "tcp.443_blocked",
        "TCP",
        "443 blocked while 80 is open",
        "iptables -j DROP on 443 only",
        _K.TCP_PORT_443_BLOCKED,
    ),
    Fault(
        "tcp.reset_in_tls",
        "TCP",
        "connection reset during the TLS handshake",
        "server reads the ClientHello, then RST",
        _K.TCP_RESET,
    ),
    # HTTP proxy: tinyproxy as the forward proxy, `check --proxy` to soketi
    Fault(
        "proxy.denied",
        "Proxy",
        "proxy allows CONNECT to 443 only",
        "tinyproxy ConnectPort 443",
        _K.PROXY_DENIED,
    ),
    Fault(
        "proxy.auth_required",
        "Proxy",
        "proxy wants credentials, none given",
        "tinyproxy BasicAuth",
        _K.PROXY_AUTH_REQUIRED,
    ),
    Fault(
        "proxy.wrong_credentials",
        "Proxy",
        "proxy credentials wrong",
        "tinyproxy BasicAuth, another password",
        _K.PROXY_AUTH_REQUIRED,
    ),
    Fault(
        "proxy.upstream",
        "Proxy",
        "proxy cannot reach the server",
        "tinyproxy, CONNECT to a closed port",
        _K.PROXY_UPSTREAM_ERROR,
    ),
    Fault(
        "proxy.down", "Proxy", "proxy not running", "HTTPS_PROXY at a closed port", _K.TCP_REFUSED
    ),
    Fault(
        "proxy.silent",
        "Proxy",
        "proxy setting points at something that never answers CONNECT",
        "a server that accepts and stays silent",
        _K.PROXY_ERROR,
    ),
    # TLS: trustme certificates, Python ssl servers
    Fault(
        "tls.expired",
        "TLS",
        "certificate expired",
        "trustme, not_after in the past",
        _K.TLS_EXPIRED,
    ),
    Fault(
        "tls.not_yet_valid",
        "TLS",
        "certificate not yet valid",
        "trustme, not_before in the future",
        _K.TLS_NOT_YET_VALID,
    ),
    Fault(
        "tls.wrong_name",
        "TLS",
        "certificate for another name",
        "trustme certificate for other.wsdiag.invalid",
        _K.TLS_HOSTNAME_MISMATCH,
    ),
    Fault(
        "tls.unknown_ca",
        "TLS",
        "unknown CA (TLS inspection proxy)",
        "certificate from a CA not in the bundle",
        _K.TLS_UNTRUSTED_ISSUER,
    ),
    Fault(
        "tls.silent",
        "TLS",
        "handshake never answered",
        "server accepts TCP, never replies",
        _K.TLS_HANDSHAKE_TIMEOUT,
    ),
    Fault(
        "tls.plaintext",
        "TLS",
        "plain HTTP on the TLS port",
        "HTTP server on the port",
        _K.TLS_NOT_TLS,
    ),
    Fault(
        "tls.tls10",
        "TLS",
        "server only speaks TLS 1.0",
        "ssl server pinned to TLSv1",
        _K.TLS_PROTOCOL_ERROR,
    ),
    # WebSocket upgrade: the scripted server, tinyproxy in front of soketi
    *(
        Fault(
            f"upgrade.{status}",
            "Upgrade",
            f"upgrade answered {status} {reason}",
            f"scripted server: HTTP {status}",
            _K.WS_UPGRADE_REJECTED,
        )
        for status, reason in (
            (400, "Bad Request"),
            (403, "Forbidden"),
            (404, "Not Found"),
            (426, "Upgrade Required"),
        )
    ),
    Fault(
        "upgrade.captive_portal",
        "Upgrade",
        "200 with an HTML captive-portal page",
        "scripted server: 200 text/html",
        _K.WS_UPGRADE_REJECTED,
    ),
    Fault(
        "upgrade.redirect",
        "Upgrade",
        "redirect to a login page",
        "scripted server: 302 Location",
        _K.WS_UPGRADE_REJECTED,
    ),
    Fault(
        "upgrade.silent",
        "Upgrade",
        "server accepts and never answers the upgrade",
        "scripted server: reads, never replies",
        _K.WS_TIMEOUT,
    ),
    Fault(
        "upgrade.proxy_strips_upgrade",
        "Upgrade",
        "reverse proxy drops the Upgrade header",
        "tinyproxy (reverse mode) in front of soketi",
        _K.WS_UPGRADE_REJECTED,
    ),
    Fault(
        "upgrade.path_prefix_missing",
        "Upgrade",
        "server behind a path prefix, URL without it (404 from the proxy)",
        "nginx routing /custom/prefix/ to soketi",
        _K.WS_UPGRADE_REJECTED,
    ),
    # ws:// sent to a TLS port (issue 9, defect 6): each way a TLS server answers it
    Fault(
        "upgrade.plain_to_tls_nginx",
        "Upgrade",
        "ws:// to a TLS port: nginx's 400 The plain HTTP request was sent to HTTPS port "
        "(PUSHER_SCHEME=http, PUSHER_PORT=443)",
        "nginx listen … ssl in front of soketi",
        _K.WS_PLAIN_TO_TLS_PORT,
    ),
    Fault(
        "upgrade.plain_to_tls_words",
        "Upgrade",
        "ws:// to a TLS port: Go's, Apache's or Tomcat's 400 for plain HTTP",
        "scripted server: each server's reply",
        _K.WS_PLAIN_TO_TLS_PORT,
    ),
    Fault(
        "upgrade.plain_to_tls_alert",
        "Upgrade",
        "ws:// to a TLS port that answers with a TLS alert",
        "scripted server: alert record 15 03 03 …",
        _K.WS_PLAIN_TO_TLS_PORT,
    ),
    Fault(
        "upgrade.plain_to_tls_close",
        "Upgrade",
        "ws:// to a TLS port that closes without a word (OpenSSL: Node, soketi, Reverb)",
        "Python ssl server (OpenSSL)",
        _K.WS_PLAIN_TO_TLS_PORT,
    ),
    # Pusher protocol: the scripted server, soketi
    *(
        Fault(
            f"pusher.{code}",
            "Pusher",
            f"pusher:error {code} ({meaning})",
            f"scripted server: pusher:error {code}",
            kind,
        )
        for code, meaning, kind in (
            (4000, "TLS only", _K.PUSHER_TLS_REQUIRED),
            (4001, "app does not exist", _K.PUSHER_APP_NOT_FOUND),
            (4003, "app disabled", _K.PUSHER_APP_DISABLED),
            (4004, "over connection quota", _K.PUSHER_OVER_QUOTA),
            (4005, "path not found", _K.PUSHER_PATH_NOT_FOUND),
            (4006, "invalid version", _K.PUSHER_INVALID_VERSION),
            (4007, "unsupported protocol", _K.PUSHER_UNSUPPORTED_PROTOCOL),
            (4008, "no protocol version", _K.PUSHER_NO_PROTOCOL),
            (4009, "unauthorized", _K.PUSHER_UNAUTHORIZED),
            (4100, "over capacity", _K.PUSHER_OVER_CAPACITY),
            (4200, "reconnect", _K.PUSHER_RECONNECT),
            (4201, "pong not received", _K.PUSHER_RECONNECT),
            (4202, "closed for inactivity", _K.PUSHER_RECONNECT),
            (4301, "client event rejected", _K.PUSHER_CLIENT_EVENT_REJECTED),
        )
    ),
    Fault(
        "pusher.close_4001",
        "Pusher",
        "close frame 4001 without pusher:error",
        "scripted server: close(4001)",
        _K.PUSHER_APP_NOT_FOUND,
    ),
    Fault(
        "pusher.close_1002",
        "Pusher",
        "close 1002 (protocol error), as middleboxes send",
        "scripted server: close(1002)",
        _K.WS_PROTOCOL_ERROR,
    ),
    Fault(
        "pusher.no_handshake",
        "Pusher",
        "no connection_established in time",
        "scripted server: 101, then silence",
        _K.PUSHER_NO_HANDSHAKE,
    ),
    Fault(
        "pusher.invalid_json",
        "Pusher",
        "invalid JSON frame",
        "scripted server",
        _K.PUSHER_BAD_FRAME,
    ),
    Fault("pusher.binary", "Pusher", "binary frame", "scripted server", _K.PUSHER_BAD_FRAME),
    Fault("pusher.huge_frame", "Pusher", "1 MB frame", "scripted server", _K.PUSHER_BAD_FRAME),
    Fault(
        "pusher.abrupt_close",
        "Pusher",
        "connection dropped without a close frame (1006)",
        "scripted server: TCP close after 101",
        _K.WS_CLOSED,
    ),
    Fault(
        "pusher.no_pong",
        "Pusher",
        "pongs never come",
        "scripted server: ignores pusher:ping",
        _K.PING_TIMEOUT,
    ),
    Fault(
        "pusher.tail_1006",
        "Pusher",
        "1006 in the middle of a tail",
        "scripted server resets the connection",
        _K.WS_CLOSED,
        status="-",
        exit_code=0,
        reports="a state line with close code 1006, then reconnect and resubscribe; no event lost",
    ),
    Fault(
        "pusher.wrong_key",
        "Pusher",
        "wrong app key on a self-hosted server (fix: the server's app config)",
        "soketi",
        _K.PUSHER_APP_NOT_FOUND,
    ),
    Fault(
        "pusher.wrong_key_cluster",
        "Pusher",
        "wrong app key on a Pusher cluster (fix: key and cluster)",
        "DNS server: ws-mt1.pusher.com → scripted server with Pusher's 4001",
        _K.PUSHER_APP_NOT_FOUND,
    ),
    # Keep-alive: `soak` through a loopback relay with an idle timeout, and soketi's kick
    Fault(
        "soak.idle_relay",
        "Keep-alive",
        "a proxy closes connections idle for 2 s; pusher:ping every 0.5 s keeps one alive",
        "relay with a 2 s idle timeout in front of soketi",
        _K.IDLE_TIMEOUT,
        status="warn",
        exit_code=0,
    ),
    Fault(
        "soak.idle_relay_slow_pings",
        "Keep-alive",
        "a proxy closes connections idle for 2 s; pusher:ping only every 3 s",
        "relay with a 2 s idle timeout in front of soketi",
        _K.IDLE_TIMEOUT,
    ),
    Fault(
        "soak.auth_kick",
        "Keep-alive",
        "closed with 4009 after 30 s: no sign-in (the 30-second kick)",
        "soketi with SOKETI_DEFAULT_APP_USER_AUTHENTICATION=true",
        _K.PUSHER_AUTH_TIMEOUT,
    ),
    # pusher-js's HTTP fallback on a self-hosted server (its own fallback host)
    Fault(
        "fallback.not_served",
        "Fallback",
        "the server has no HTTP fallback routes (soketi, Reverb)",
        "soketi: 404 on /pusher/app/KEY/…/xhr_streaming",
        _K.FALLBACK_NOT_SERVED,
        status="warn",
        exit_code=0,
    ),
    Fault(
        "fallback.buffered",
        "Fallback",
        "a proxy buffers the streamed reply; polling gets through",
        "nginx with its default proxy_buffering before the test fallback endpoint",
        _K.FALLBACK_TIMEOUT,
        status="warn",
        exit_code=0,
    ),
    Fault(
        "fallback.refused",
        "Fallback",
        "a proxy refuses the fallback URL",
        "nginx: location /pusher/ { return 403; }",
        _K.FALLBACK_REJECTED,
        status="warn",
        exit_code=0,
    ),
    # origins: the scripted server enforcing an allow-list as Laravel Reverb does
    Fault(
        "origin.not_allowed",
        "Pusher",
        "the server's allowed_origins leave out the Origin sent (Reverb)",
        "scripted server: pusher:error 4009 Origin not allowed",
        _K.PUSHER_ORIGIN_NOT_ALLOWED,
    ),
    # env-lint: real .env files, schemes checked against soketi and a TLS front
    Fault(
        "env.key_mismatch",
        "Settings",
        "the front end was built with another app key than the server's",
        ".env: PUSHER_APP_KEY and VITE_PUSHER_APP_KEY differ",
        _K.ENV_MISMATCH,
    ),
    Fault(
        "env.https_to_plain_port",
        "Settings",
        "PUSHER_SCHEME=https to a port that speaks plain HTTP",
        ".env: PUSHER_SCHEME=https and soketi's plain port",
        _K.TLS_NOT_TLS,
    ),
    # fanout: two soketi nodes behind nginx's round-robin balancer
    Fault(
        "fanout.local_adapter",
        "Fanout",
        "the nodes behind the balancer do not share pub/sub",
        "two soketi nodes with SOKETI_ADAPTER_DRIVER=local behind nginx",
        _K.FANOUT_SPLIT,
    ),
    Fault(
        "fanout.redis_lost",
        "Fanout",
        "the nodes' Redis goes away mid-run",
        "two soketi nodes sharing a real Redis, which is stopped as publishing starts",
        _K.PUSHER_RECONNECT,
    ),
    # Subscribe and delivery: `check` with credentials against the scripted server
    Fault(
        "delivery.subscription_refused",
        "Delivery",
        "the server refuses the private subscription",
        "scripted server: pusher:subscription_error",
        _K.SUBSCRIPTION_ERROR,
    ),
    Fault(
        "delivery.subscription_unanswered",
        "Delivery",
        "the subscription is never confirmed",
        "scripted server: ignores pusher:subscribe",
        _K.SUBSCRIPTION_TIMEOUT,
    ),
    Fault(
        "delivery.event_lost",
        "Delivery",
        "published events never arrive",
        "scripted server: API answers 200, socket stays quiet",
        _K.EVENT_LOST,
    ),
    # HTTP API: `publish` against soketi and a scripted HTTP API server
    Fault(
        "api.invalid_signature",
        "HTTP API",
        "401 invalid signature (wrong secret)",
        "soketi with another secret",
        _K.API_UNAUTHORIZED,
    ),
    Fault(
        "api.timestamp_expired",
        "HTTP API",
        "401 timestamp expired (clock skew)",
        "scripted API: 401 + Date 20 min ahead",
        _K.API_TIMESTAMP_EXPIRED,
    ),
    Fault("api.400", "HTTP API", "400 bad request", "scripted API", _K.API_BAD_REQUEST),
    Fault("api.403", "HTTP API", "403 app disabled / over quota", "scripted API", _K.API_FORBIDDEN),
    Fault(
        "api.404",
        "HTTP API",
        "404 wrong app id or path",
        "soketi, unknown app id; scripted API (cloud's status form)",
        _K.API_NOT_FOUND,
    ),
    Fault(
        "api.413",
        "HTTP API",
        "413 payload too large",
        "soketi, 150 KB event; scripted API (cloud's status form)",
        _K.API_TOO_LARGE,
    ),
    Fault("api.500", "HTTP API", "500 server error", "scripted API", _K.API_SERVER_ERROR),
    Fault("api.429", "HTTP API", "429 rate limited", "scripted API", _K.API_RATE_LIMITED),
    Fault(
        "api.slow",
        "HTTP API",
        "reply slower than the timeout",
        "scripted API: sleeps",
        _K.API_TIMEOUT,
    ),
    Fault(
        "api.not_json",
        "HTTP API",
        "200 with a non-JSON body (proxy page)",
        "scripted API: text/html",
        _K.API_BAD_REPLY,
    ),
    Fault(
        "api.clock_skew",
        "HTTP API",
        "clock 2 minutes off, request accepted",
        "scripted API: Date 120 s ahead",
        _K.CLOCK_SKEW,
        status="warn",
        exit_code=0,
    ),
)
BY_ID = {fault.id: fault for fault in FAULTS}
assert len(BY_ID) == len(FAULTS), "duplicate fault id"

README = Path(__file__).resolve().parents[2] / "README.md"
START = "<!-- fault-table: generated by `python -m tests.faults.matrix`; do not edit -->"
END = "<!-- /fault-table -->"


def render_table() -> str:
    lines = [
        "| Layer | Fault | Made in the tests by | wsdiag reports | Status | Exit |",
        "|---|---|---|---|---|---|",
    ]
    for fault in FAULTS:
        reports = fault.reports or f"`{fault.kind}`: {kind_text(fault.kind)[0]}"
        lines.append(
            f"| {fault.layer} | {fault.what} | {fault.made_by} | "
            f"{reports} | {fault.status} | {fault.exit_code} |"
        )
    return "\n".join(lines)


def readme_with_table(readme: str) -> str:
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(readme):
        raise SystemExit(f"README has no {START!r} … {END!r} section")
    return pattern.sub(lambda _: f"{START}\n{render_table()}\n{END}", readme)


if __name__ == "__main__":
    README.write_text(readme_with_table(README.read_text()))
    sys.exit(0)
