"""Reports as real runs produce them, for the renderers' golden and layout tests.

Subjects, summaries, causes and fixes are copied from real runs (soketi on
loopback, the mt1 cluster over IPv4 and IPv6, a wrong secret), so a layout
rule is tested on the tokens users see: IPv6 literals, cipher names, socket
ids, random channel names, a string_to_sign.
"""

from __future__ import annotations

from wsdiag.models import ErrorKind, Handshake, Latency, Phase, Report, Stage, StageResult, Status

CHANNEL = "private-wsdiag-5218e36cc643"
STRING_TO_SIGN = (
    "GET\n/apps/12345/channels\nauth_key=app-key&auth_timestamp=1795699687&auth_version=1.0"
)
IPV6 = "2600:1f18:2148:bc00:8d6c:5b13:f1e7:8ab1"


def self_hosted_ok() -> Report:
    """``wsdiag check ws://127.0.0.1:6001 --app-id … --key … --secret …``: everything works."""
    report = Report(command="check", target="ws://127.0.0.1:6001")
    via = "via ws://127.0.0.1:6001"
    report.results += [
        StageResult(
            Stage.RESOLVE, "127.0.0.1", Status.OK, "IP address, nothing to resolve", started_ms=0.0
        ),
        StageResult(
            Stage.REACH,
            "127.0.0.1:6001",
            Status.OK,
            "open",
            phases=(Phase("connect", 0.214),),
            started_ms=0.1,
        ),
        StageResult(
            Stage.TLS,
            "ws://127.0.0.1:6001",
            Status.SKIPPED,
            "skipped: this target does not use TLS (ws://)",
        ),
        StageResult(
            Stage.WEBSOCKET,
            "ws://127.0.0.1:6001 via 127.0.0.1",
            Status.OK,
            "connected, socket_id 1912336256.5069485419, activity_timeout 30 s",
            phases=(Phase("connect", 0.3), Phase("upgrade", 0.9), Phase("handshake", 0.412)),
            started_ms=0.4,
            outcome=Handshake(socket_id="1912336256.5069485419", activity_timeout=30),
        ),
        StageResult(
            Stage.PING,
            "ws://127.0.0.1:6001",
            Status.OK,
            "5 pongs: min 0.1 / median 0.1 / p95 0.2 / max 0.2 ms, jitter 0.1",
            phases=(Phase("ping", 0.6),),
            started_ms=2.0,
            outcome=Latency((0.1, 0.1, 0.12, 0.2, 0.2), 0.12, 0.2),
        ),
        StageResult(
            Stage.API,
            "channels private-wsdiag-*",
            Status.OK,
            "HTTP 200 OK",
            phases=(Phase("request", 2.1),),
            started_ms=2.7,
        ),
        StageResult(
            Stage.SUBSCRIBE,
            f"{CHANNEL} {via}",
            Status.OK,
            f"subscribed to {CHANNEL}",
            phases=(Phase("subscribe", 1.0),),
            started_ms=4.9,
        ),
        StageResult(
            Stage.DELIVERY,
            f"{CHANNEL} {via}",
            Status.OK,
            "5/5 events: min 0.5 / median 0.6 / p95 1.3 / max 1.3 ms",
            phases=(Phase("event 1", 0.5), Phase("event 2", 0.6), Phase("event 3", 1.3)),
            started_ms=6.0,
            outcome=Latency((0.5, 0.6, 1.3), 0.6, 1.3),
        ),
    ]
    return report


def cluster_wrong_key() -> Report:
    """``wsdiag check mt1 --key 12345`` from a machine without IPv6: the key is not in mt1."""
    report = Report(
        command="check",
        target="mt1",
        notes=["the key '12345' is all digits: that looks like the app *id*, not the key"],
    )
    pusher_4001 = ErrorKind.PUSHER_APP_NOT_FOUND
    report.results += [
        StageResult(
            Stage.RESOLVE,
            "ws-mt1.pusher.com",
            Status.OK,
            "2 IPv4, 1 IPv6 via 10.0.0.53:53",
            phases=(Phase("dns", 12.5),),
            started_ms=0.0,
        ),
        StageResult(
            Stage.REACH,
            f"ws-mt1.pusher.com [{IPV6}]:443",
            Status.WARN,
            "no IPv6 route (clients use IPv4)",
            kind=ErrorKind.TCP_NETWORK_DOWN,
            cause=f"this machine has no IPv6 route to [{IPV6}]:443",
            fix="nothing to do: clients use the IPv4 addresses",
            phases=(Phase("connect", 0.08),),
            started_ms=13.0,
        ),
        StageResult(
            Stage.REACH,
            "ws-mt1.pusher.com 54.236.146.137:443",
            Status.OK,
            "open",
            phases=(Phase("connect", 95.3),),
            started_ms=13.0,
        ),
        StageResult(
            Stage.REACH,
            "sockjs-mt1.pusher.com:443,80",
            Status.SKIPPED,
            "skipped: no address to connect to (DNS failed)",
        ),
        StageResult(
            Stage.TLS,
            "ws-mt1.pusher.com 54.236.146.137:443",
            Status.OK,
            "TLSv1.2 ECDHE-ECDSA-AES256-GCM-SHA384, certificate valid 212 more days",
            phases=(Phase("connect", 95.1), Phase("tls", 190.4)),
            started_ms=110.0,
        ),
        StageResult(
            Stage.WEBSOCKET,
            "wss://ws-mt1.pusher.com:443 via 54.236.146.137",
            Status.FAIL,
            "4001 app does not exist: App key 12345 not in this cluster. "
            "Did you forget to specify the cluster?",
            kind=pusher_4001,
            cause='the server said "App key 12345 not in this cluster. Did you forget to specify '
            'the cluster?": no app with this key in mt1 (a wrong key, or the app lives in another '
            "cluster)",
            fix="use the app key from the dashboard's App Keys page and the cluster it shows "
            "(PUSHER_APP_CLUSTER); the numeric app *id* is not the key",
            phases=(
                Phase("connect", 95.0),
                Phase("tls", 190.0),
                Phase("upgrade", 98.0),
                Phase("handshake", 97.0),
            ),
            started_ms=400.0,
        ),
        StageResult(
            Stage.WEBSOCKET,
            "ws://ws-mt1.pusher.com:80 via 54.236.146.137",
            Status.FAIL,
            "4001 app does not exist",
            kind=pusher_4001,
            phases=(Phase("connect", 95.0),),
            started_ms=400.0,
        ),
        StageResult(Stage.PING, "wss://ws-mt1.pusher.com:443", Status.SKIPPED, "skipped: no pong"),
    ]
    return report


def api_wrong_secret() -> Report:
    """``wsdiag channels ws://127.0.0.1:6001 --secret wrong``: soketi's 200 carrying a 401."""
    report = Report(command="channels", target="ws://127.0.0.1:6001")
    report.results.append(
        StageResult(
            Stage.API,
            "channels",
            Status.FAIL,
            'HTTP 200 OK carrying error 401: {"error":"The secret authentication failed",'
            '"code":401}',
            kind=ErrorKind.API_UNAUTHORIZED,
            cause="the server rejected the signature for key 'app-key' (secret …)",
            fix="check that key, secret and app id belong to the same app; --debug or --json "
            "shows the exact string that was signed",
            phases=(
                Phase("dns", 0.912),
                Phase("connect", 0.1),
                Phase("request", 1.2),
                Phase("response", -0.0001),  # clocks: a tiny negative must not print as -0.0
            ),
            details={
                "method": "GET",
                "path": "/apps/12345/channels",
                "url": "http://127.0.0.1:6001/apps/12345/channels",
                "status": 200,
                "reply": {"error": "The secret authentication failed", "code": 401},
                "clock_skew_s": -1,
                "key": "app-key",
                "secret": "…",
                "embedded_status": 401,
                "string_to_sign": STRING_TO_SIGN,
            },
            started_ms=0.0,
        )
    )
    return report


def channel_info() -> Report:
    """``wsdiag channels … presence-room --users``-like details: booleans, nested records."""
    report = Report(command="channels", target="ws://127.0.0.1:6001")
    report.results.append(
        StageResult(
            Stage.API,
            "channel presence-room",
            Status.OK,
            "HTTP 200 OK",
            phases=(Phase("request", 1.25),),
            details={
                "status": 200,
                "reply": {"occupied": True, "user_count": 2, "subscription_count": None},
                "published": {"ok": True},
                "users": [{"id": "1", "info": {"name": "Ada"}, "online": False}],
                "jitter": -0.01,
                "channels": [],
            },
            started_ms=0.0,
        )
    )
    return report


def tls_chain() -> Report:
    """``wsdiag tls mt1``: one handshake in full detail, the certificate chain as records."""
    report = Report(command="tls", target="mt1")
    amazon = "CN=Amazon RSA 2048 M02,O=Amazon,C=US"
    leaf = {
        "subject": "CN=*.pusher.com",
        "issuer": amazon,
        "not_after": "2026-01-30T23:59:59Z",
        "days_left": 212,
        "sans": ["*.pusher.com", "pusher.com", "ws-mt1.pusher.com", "sockjs-mt1.pusher.com"],
    }
    report.results.append(
        StageResult(
            Stage.TLS,
            "ws-mt1.pusher.com 54.236.146.137:443",
            Status.OK,
            "TLSv1.3 TLS_AES_256_GCM_SHA384, certificate valid 212 more days",
            phases=(Phase("connect", 95.1), Phase("tls", 190.4)),
            details={
                "sni": "ws-mt1.pusher.com",
                "ca_bundle": "certifi",
                "verified": True,
                "cipher": "TLS_AES_256_GCM_SHA384",
                "alpn": None,
                "chain": [leaf, {"subject": amazon, "issuer": "CN=Amazon Root CA 1", "sans": []}],
            },
            started_ms=0.0,
        )
    )
    return report


SAMPLES = {
    "self-hosted-ok": (self_hosted_ok, False),
    "cluster-wrong-key": (cluster_wrong_key, False),
    "api-wrong-secret": (api_wrong_secret, True),
    "channel-info": (channel_info, True),
    "tls-chain": (tls_chain, True),
}
