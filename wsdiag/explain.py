"""Offline explanations for ``wsdiag explain``: close codes, HTTP API statuses, error kinds.

Pure data and lookup; no network. Every ``ErrorKind`` has an entry (a test
keeps it so), written for someone who saw the kind in a report or in JSON.
Close codes come from ``wsdiag.pusher.codes`` (Pusher's, and RFC 6455's with
IANA's additions); each says what a client should do next, as pusher-js does.
``catalogue()`` is everything ``wsdiag explain`` knows, for the listing and for
shell completion.
"""

from __future__ import annotations

from typing import Literal

from wsdiag.models import ErrorKind
from wsdiag.pusher.codes import Reconnect, explain_code, known_codes
from wsdiag.records import record

TopicType = Literal["close_code", "close_code_range", "http_status", "error_kind"]

# What a client does next after a close code (pusher-js's close actions: tls_only,
# backoff, retry, refused), in words that finish "a client should: …".
CLIENT_SHOULD: dict[Reconnect, str] = {
    "tls": "reconnect at once over TLS, wss://",
    "backoff": "reconnect after a pause of 1 s or more, growing with each attempt",
    "immediately": "reconnect immediately",
    "give_up": "not reconnect until the cause is fixed",
}


@record
class Explanation:
    topic: str  # "close code 4001", "HTTP API status 401", "error kind tcp_filtered"
    title: str
    meaning: str
    fix: str  # for a close code, ends with what a client should do next
    type: TopicType = "error_kind"
    value: str = ""  # "4001", "1016-2999", "429", "tcp_filtered"
    kind: ErrorKind | None = None  # the kind a report carries for it
    reconnect: Reconnect | None = None  # close codes: pusher-js's next step

    def to_dict(self) -> dict[str, str | None]:
        """The JSON view (``explain --json``): enums as their strings."""
        return {
            "type": self.type,
            "value": self.value,
            "topic": self.topic,
            "title": self.title,
            "meaning": self.meaning,
            "fix": self.fix,
            "kind": self.kind.value if self.kind else None,
            "reconnect": self.reconnect,
        }


_K = ErrorKind
KINDS: dict[ErrorKind, tuple[str, str, str]] = {
    _K.DNS_NXDOMAIN: (
        "name does not exist",
        "the resolver says the host name does not exist",
        "check the cluster or host name; for a public cluster, compare with --resolver 1.1.1.1",
    ),
    _K.DNS_NO_ANSWER: (
        "no address records",
        "the name exists but has no A or AAAA record",
        "check the DNS zone of a self-hosted server",
    ),
    _K.DNS_SERVFAIL: (
        "resolver failure",
        "the resolver could not answer (SERVFAIL)",
        "retry; compare with --resolver 1.1.1.1; DNS filters answer SERVFAIL too",
    ),
    _K.DNS_TIMEOUT: (
        "resolver silent",
        "the resolver did not answer in time",
        "check that DNS (port 53) is allowed out; try --resolver",
    ),
    _K.DNS_NO_RESOLVER: (
        "no resolver",
        "this machine has no DNS resolver configured",
        "fix /etc/resolv.conf or the network's DHCP; or pass --resolver",
    ),
    _K.DNS_RESOLVER_UNREACHABLE: (
        "resolver unreachable",
        "the query could not reach the resolver: no route to it (ENETUNREACH), its host "
        "or a firewall rejected it (EHOSTUNREACH), or nothing listens on its port (ICMP port "
        "unreachable, ECONNREFUSED); the report names the resolver and the errno",
        "check the resolver's address and port and the network connection or VPN; with "
        "--resolver, leave it out to compare with the system's resolver",
    ),
    _K.DNS_PRIVATE_ANSWER: (
        "private answer for a public host",
        "a public Pusher host resolved to a private or local address: a captive "
        "portal, split-horizon DNS, a hosts-file entry or DNS hijacking",
        "compare with --resolver 1.1.1.1; check VPN, /etc/hosts and DNS filters",
    ),
    _K.TCP_REFUSED: (
        "connection refused",
        "nothing listens on the port, or a firewall rejects it",
        "check that the server runs and listens there; otherwise open the port",
    ),
    _K.TCP_FILTERED: (
        "filtered",
        "no answer at all: a firewall silently drops the packets",
        "allow outbound TCP to that port, or try another network",
    ),
    _K.TCP_UNREACHABLE: (
        "unreachable",
        "a router or firewall answered ICMP unreachable",
        "a firewall rejects the traffic or there is no path: ask for it to be allowed",
    ),
    _K.TCP_NETWORK_DOWN: (
        "no route",
        "this machine has no route for that address family",
        "nothing to do when the other family (usually IPv4) works",
    ),
    _K.TCP_RESET: (
        "reset",
        "the connection was reset",
        "a firewall or proxy cuts it: ask for the port",
    ),
    _K.TCP_PORT_443_BLOCKED: (
        "443 blocked, 80 open",
        "wss:// on 443 cannot connect while plain port 80 gets through",
        "open outbound 443; forceTLS: false (ws:// on 80) is only a stopgap",
    ),
    _K.PROXY_DENIED: (
        "proxy refused the tunnel",
        "the HTTP proxy answered CONNECT with 403: it does not allow this host or port",
        "ask for CONNECT to the cluster's hosts on 443 to be allowed on the proxy",
    ),
    _K.PROXY_AUTH_REQUIRED: (
        "proxy wants credentials",
        "the HTTP proxy answered 407 Proxy Authentication Required",
        "give them in the proxy URL: http://user:password@proxy:port (Basic)",
    ),
    _K.PROXY_UPSTREAM_ERROR: (
        "proxy could not connect",
        "the HTTP proxy could not reach the target (its DNS, or the target refused it)",
        "check the target's name and port; the proxy's logs say which step failed",
    ),
    _K.PROXY_ERROR: (
        "proxy error",
        "the HTTP proxy did not answer CONNECT, or answered something unexpected",
        "check the proxy URL (HTTPS_PROXY / --proxy): it must be an HTTP proxy",
    ),
    _K.TLS_EXPIRED: (
        "certificate expired",
        "the server's certificate is past its end date (or this clock is wrong)",
        "renew the certificate, or correct this machine's clock",
    ),
    _K.TLS_NOT_YET_VALID: (
        "certificate not yet valid",
        "the certificate's start date is in the future for this clock",
        "sync this machine's clock",
    ),
    _K.TLS_HOSTNAME_MISMATCH: (
        "wrong name",
        "the certificate is for other names",
        "use the name on the certificate, or reissue it",
    ),
    _K.TLS_UNTRUSTED_ISSUER: (
        "untrusted issuer",
        "the chain ends at a CA the bundle does not trust: "
        "a TLS-inspection proxy, antivirus, or a private CA",
        "pass the CA with --ca-bundle FILE (and to your app), or update certifi",
    ),
    _K.TLS_HANDSHAKE_TIMEOUT: (
        "no handshake",
        "TCP connected but TLS never answered",
        "check that the port serves TLS; a middlebox may hold the connection",
    ),
    _K.TLS_NOT_TLS: (
        "not TLS",
        "the port speaks plain text (often HTTP), not TLS",
        "use ws:// / --no-tls for it, or the server's TLS port",
    ),
    _K.TLS_PROTOCOL_ERROR: (
        "TLS error",
        "the handshake failed: no common version, a reset, or a broken server",
        "enable TLS 1.2+ on the server; check SNI filtering",
    ),
    _K.TLS_EXPIRES_SOON: (
        "expires soon",
        "the certificate expires within 14 days",
        "renew it now; check the automatic renewal job",
    ),
    _K.TLS_VERIFY_DISABLED: (
        "verification off",
        "--insecure turned certificate checks off",
        "drop --insecure; use --ca-bundle for private CAs",
    ),
    _K.WS_UPGRADE_REJECTED: (
        "upgrade rejected",
        "the server or a proxy answered the WebSocket upgrade with something other than 101",
        "read the status and body "
        "in the report: 404 wrong port/path, 426 proxy, HTML captive portal",
    ),
    _K.WS_TIMEOUT: (
        "upgrade unanswered",
        "the upgrade request got no reply in time",
        "check that the port serves WebSockets; proxies that hold requests look alike",
    ),
    _K.WS_CLOSED: (
        "connection closed",
        "the connection closed unexpectedly (1006: no close frame, typically a proxy)",
        "use wss:// on 443; raise proxy idle timeouts",
    ),
    _K.WS_PROTOCOL_ERROR: (
        "WebSocket protocol error",
        "a frame broke the WebSocket protocol",
        "a proxy may be rewriting frames: use wss://",
    ),
    _K.WS_PLAIN_TO_TLS_PORT: (
        "ws:// sent to a TLS port",
        "the port speaks TLS (https/wss) but the connection was plain ws://: nginx answers "
        '"400 The plain HTTP request was sent to HTTPS port", Go servers "Client sent an HTTP '
        'request to an HTTPS server", others a TLS alert or a silent close',
        "use wss:// for this port (pusher-js: forceTLS: true); a Laravel .env with "
        "PUSHER_SCHEME=http and PUSHER_PORT=443 does this: set PUSHER_SCHEME=https",
    ),
    _K.PUSHER_ERROR: ("Pusher error", "pusher:error without a known code", "read the message"),
    _K.PUSHER_NO_HANDSHAKE: (
        "no connection_established",
        "a WebSocket server answered but not the Pusher protocol",
        "point at the Pusher server's port and path",
    ),
    _K.PUSHER_BAD_FRAME: (
        "bad frame",
        "a frame that is not Pusher JSON (invalid JSON, binary)",
        "make sure the endpoint speaks the Pusher protocol",
    ),
    _K.FALLBACK_NOT_SERVED: (
        "no HTTP fallback here",
        "the server answered 404 (or 405/501) to pusher-js's HTTP fallback URL "
        "(/pusher/app/KEY/…/xhr_streaming): it has no fallback routes, as soketi and Reverb "
        "have none",
        "self-hosted: set enabledTransports: ['ws', 'wss'] in the client, or pusher-js sends "
        "clients whose WebSocket fails to sockjs-CLUSTER.pusher.com, which does not know the "
        "app; a cluster: check the host name",
    ),
    _K.FALLBACK_REJECTED: (
        "HTTP fallback refused",
        "the fallback request got a status other than 200, a reply that was not HTTP, or a "
        "reply that ended before the Pusher handshake",
        "look for a proxy or firewall in between that refuses POSTs to this URL; `--debug` "
        "shows the exchange",
    ),
    _K.FALLBACK_TIMEOUT: (
        "HTTP fallback stalled",
        "the fallback request got no reply in time, or a 200 reply whose stream showed nothing: "
        "something in between buffers streamed replies (a proxy, antivirus, a captive portal)",
        "let the proxy pass streamed replies unbuffered (nginx: proxy_buffering off); "
        "pusher-js then falls back to xhr_polling, which is slower",
    ),
    _K.PUSHER_ORIGIN_NOT_ALLOWED: (
        "origin not allowed",
        'the server answered 4009 "Origin not allowed": Laravel Reverb matches the host part '
        "of the upgrade's Origin header against the app's allowed_origins (wildcards allowed)",
        "add the host of your app's pages to allowed_origins in config/reverb.php ('*' allows "
        "all) and restart Reverb; test as a browser does with --origin https://your.app",
    ),
    _K.ENV_MISMATCH: (
        "settings disagree",
        "two settings of the app's .env that should name the same thing do not: the app key "
        "of the browser and of the server, or where the app and the browser find the server",
        'make them agree (VITE_REVERB_APP_KEY="${REVERB_APP_KEY}"), rebuild the front end, '
        "and run `wsdiag env-lint` again",
    ),
    _K.ENV_LOCALHOST: (
        "localhost in a container",
        "the app publishes to localhost while running in a container, where localhost is the "
        "app's own container",
        "use the server's service name on the container network (REVERB_HOST=reverb)",
    ),
    _K.FANOUT_SPLIT: (
        "nodes not sharing pub/sub",
        "every event reached some sockets, but each group of sockets got only the events "
        "published through its own node: the nodes behind the balancer do not share pub/sub",
        "configure the same adapter on every node (soketi: SOKETI_ADAPTER_DRIVER=redis with "
        "the same SOKETI_DB_REDIS_*; Reverb: REVERB_SCALING_ENABLED=true, one Redis)",
    ),
    _K.FANOUT_PRESENCE_SPLIT: (
        "presence differs per node",
        "sockets subscribed to the same presence channel see different member lists",
        "share presence between the nodes through the same pub/sub adapter as events",
    ),
    _K.FANOUT_EXCLUSION_IGNORED: (
        "toOthers() not honoured",
        "an event published with a socket_id (pusher-js toOthers(), Laravel's broadcast()->"
        "toOthers()) reached that socket anyway",
        "upgrade the server, or leave the sender out in the client",
    ),
    _K.FANOUT_DUPLICATES: (
        "events delivered twice",
        "a socket received the same event more than once",
        "check that each node runs one adapter and subscribes to pub/sub once",
    ),
    _K.FANOUT_OUT_OF_ORDER: (
        "events out of order",
        "events published one after another arrived in another order on some sockets",
        "nodes relay through pub/sub at their own pace: do not rely on order across nodes",
    ),
    _K.FANOUT_NO_SOCKETS: (
        "sockets could not connect",
        "some or all of the fanout's sockets could not connect or subscribe",
        "run `wsdiag check` against the target to see why",
    ),
    _K.PING_TIMEOUT: (
        "no pong",
        "pusher:ping got no pusher:pong in time",
        "a proxy or the server stalls the connection",
    ),
    _K.PUSHER_AUTH_TIMEOUT: (
        "30-second kick",
        "the server closed the connection ~30 s after it opened (4009): it wants every "
        "connection to sign in or subscribe to a private channel within that time (Pusher: "
        '"authorized connections" on; soketi: SOKETI_DEFAULT_APP_USER_AUTHENTICATION=true)',
        "sign in (pusher-js: pusher.signin(), with its userAuthentication endpoint; "
        "`wsdiag tail --signin`), or "
        "subscribe to a private channel within 30 s, or turn the setting off for this app",
    ),
    _K.IDLE_TIMEOUT: (
        "idle timeout",
        "something on this path (a proxy, a load balancer, the server) closes a connection "
        "after a fixed time without traffic",
        "make the client ping more often than that (pusher-js: activityTimeout, milliseconds) "
        "or raise the idle timeout of the proxy; `wsdiag soak` measures it",
    ),
    _K.API_BAD_REQUEST: (
        "400",
        "the HTTP API refused the request as malformed",
        "read the server's message: names, sizes, channel count",
    ),
    _K.API_UNAUTHORIZED: (
        "401",
        "the HTTP API rejected the signature: key, secret or app id do not match",
        "use the key, secret and app id of one app",
    ),
    _K.API_TIMESTAMP_EXPIRED: (
        "timestamp expired",
        "this clock differs from the server's by more than 600 s",
        "sync the clock (timedatectl set-ntp true)",
    ),
    _K.API_FORBIDDEN: ("403", "the app is disabled or over quota", "check the dashboard"),
    _K.API_NOT_FOUND: ("404", "no such app or resource", "check the app id and the host"),
    _K.API_TOO_LARGE: (
        "413",
        "the payload is over the server's limit (10 KB on Pusher)",
        "send less data",
    ),
    _K.API_SERVER_ERROR: ("5xx", "the server failed", "retry; check status.pusher.com or the logs"),
    _K.API_BAD_REPLY: (
        "bad reply",
        "the reply was not the API's JSON, or the connection broke",
        "something else answers on that host/port: check it",
    ),
    _K.API_RATE_LIMITED: (
        "rate limited",
        "the HTTP API answered 429 Too Many Requests: the app's rate limit (or a gateway's) "
        "refused the request",
        "slow down and retry after a growing pause; self-hosted: raise the app's limits",
    ),
    _K.API_TIMEOUT: ("API timeout", "the HTTP API did not answer in time", "retry; check the path"),
    _K.API_UNEXPECTED_STATUS: (
        "unexpected status",
        "an HTTP status the API does not document",
        "check that host and port point at the Pusher HTTP API",
    ),
    _K.CLOCK_SKEW: (
        "clock skew",
        "this clock and the server's Date differ (warn > 30 s, fail > 600 s)",
        "sync the clock",
    ),
    _K.INVALID_INPUT: (
        "invalid input",
        "wsdiag refused the request before sending it",
        "fix the value the message names",
    ),
    _K.SUBSCRIPTION_ERROR: (
        "subscription refused",
        "the server refused a subscription (bad signature, limits)",
        "check the auth signature: key and secret of one app",
    ),
    _K.SUBSCRIPTION_TIMEOUT: (
        "subscription unanswered",
        "no subscription_succeeded in time",
        "check the server's logs",
    ),
    _K.AUTH_ENDPOINT_ERROR: (
        "auth endpoint failed",
        "the app's auth endpoint failed or replied wrongly",
        "read the status and body: 403/419/302 are the app's own "
        "middleware; fix the reply's JSON shape",
    ),
    _K.AUTH_SIGNATURE_MISMATCH: (
        "wrong signature",
        "the auth endpoint signed with another secret, key, or string",
        "align the app's PUSHER_APP_SECRET/KEY; sign socket_id:channel_name",
    ),
    _K.EVENT_LOST: (
        "event lost",
        "an event accepted by the API never reached the socket",
        "publisher and subscriber must use the same app and cluster",
    ),
    _K.LATENCY_EXCEEDED: (
        "too slow",
        "p95 latency is over --max-latency-ms",
        "run closer to the cluster or raise the limit",
    ),
    _K.INTERNAL: ("internal error", "a bug in wsdiag", "run with --debug and report the traceback"),
}

# HTTP API status → the kind a report carries and a title for it.
HTTP_STATUSES: dict[int, tuple[ErrorKind, str]] = {
    400: (ErrorKind.API_BAD_REQUEST, "bad request"),
    401: (ErrorKind.API_UNAUTHORIZED, "unauthorized"),
    403: (ErrorKind.API_FORBIDDEN, "forbidden"),
    404: (ErrorKind.API_NOT_FOUND, "not found"),
    413: (ErrorKind.API_TOO_LARGE, "payload too large"),
    429: (ErrorKind.API_RATE_LIMITED, "rate limited"),
    500: (ErrorKind.API_SERVER_ERROR, "internal server error"),
    502: (ErrorKind.API_SERVER_ERROR, "bad gateway"),
    503: (ErrorKind.API_SERVER_ERROR, "service unavailable"),
    504: (ErrorKind.API_SERVER_ERROR, "gateway timeout"),
}
# (meaning, fix) of statuses that share their kind with others. soketi's limits:
# dist/http-handler.js and cli.js of soketi 1.6 (see PUSHER-PROTOCOL.md).
_STATUS_WORDS: dict[int, tuple[str, str]] = {
    429: (
        "too many requests: the server limits how many API requests and events an app may "
        'send per second, and this one went over (soketi answers 429 "Too many requests." '
        "when the app has a rate limit, each channel of an event counting once); a gateway "
        "or proxy in front of the server may limit requests too",
        "slow down: retry after a pause that grows with each attempt (a Retry-After header, "
        "when sent, says how long); self-hosted: raise the app's limits (soketi "
        "SOKETI_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC, "
        "SOKETI_DEFAULT_APP_MAX_READ_REQ_PER_SEC)",
    ),
    502: (
        "a proxy or load balancer in front of the API got no valid reply from the server behind it",
        "check that the server behind the proxy runs and that the proxy points at its port "
        "(soketi 6001, Reverb 8080)",
    ),
    503: (
        "the server, or the proxy in front of it, is overloaded, starting or in maintenance",
        "retry after a pause; check status.pusher.com or the self-hosted server's health",
    ),
    504: (
        "a proxy or load balancer gave up waiting for the server behind it",
        "check that the server behind the proxy answers; raise the proxy's upstream timeout",
    ),
}
# Close codes wsdiag knows by range rather than one by one: (first, last).
CLOSE_CODE_RANGES: tuple[tuple[int, int], ...] = (
    (1016, 2999),
    (3000, 3999),
    (4000, 4099),
    (4100, 4199),
    (4200, 4299),
    (4300, 4399),
    (4400, 4999),
)


def explain(topic: str) -> Explanation | None:
    """A close code (1000-4999), an HTTP API status (400-599) or an error kind name."""
    text = topic.strip().lower()
    if text.isdigit():
        number = int(text)
        if 1000 <= number <= 4999:
            return explain_close_code(number)
        if 400 <= number <= 599:
            return explain_status(number)
        return None
    for kind in ErrorKind:
        if text in (kind.value, kind.name.lower()):
            return explain_kind(kind)
    return None


def explain_close_code(code: int) -> Explanation:
    info = explain_code(code)
    return Explanation(
        f"close code {code}",
        info.title,
        info.meaning,
        f"{info.fix} (a client should: {CLIENT_SHOULD[info.reconnect]})",
        "close_code",
        str(code),
        info.kind,
        info.reconnect,
    )


def explain_status(status: int) -> Explanation:
    default = (
        (ErrorKind.API_UNEXPECTED_STATUS, "unexpected status")
        if status < 500
        else (ErrorKind.API_SERVER_ERROR, "server error")
    )
    kind, title = HTTP_STATUSES.get(status, default)
    _, meaning, fix = kind_text(kind)
    meaning, fix = _STATUS_WORDS.get(status, (meaning, fix))
    return Explanation(
        f"HTTP API status {status}", title, meaning, fix, "http_status", str(status), kind
    )


def explain_kind(kind: ErrorKind) -> Explanation:
    title, meaning, fix = kind_text(kind)
    code = _pusher_code(kind)
    reconnect = explain_code(code).reconnect if code is not None else None
    return Explanation(
        f"error kind {kind.value}", title, meaning, fix, "error_kind", kind.value, kind, reconnect
    )


def catalogue() -> dict[TopicType, list[Explanation]]:
    """Everything ``explain`` knows: each close code, the close code ranges, the HTTP API
    statuses with words of their own, and every error kind."""
    ranges = []
    for first, last in CLOSE_CODE_RANGES:
        # The range's words are what any code in it not known one by one gets.
        sample = next(c for c in range(first, last + 1) if c not in known_codes())
        one = explain_close_code(sample)
        ranges.append(
            Explanation(
                f"close codes {first}-{last}",
                one.title,
                one.meaning.replace(str(sample), f"{first}-{last}"),
                one.fix,
                "close_code_range",
                f"{first}-{last}",
                one.kind,
                one.reconnect,
            )
        )
    return {
        "close_code": [explain_close_code(code) for code in known_codes()],
        "close_code_range": ranges,
        "http_status": [explain_status(status) for status in sorted(HTTP_STATUSES)],
        "error_kind": [explain_kind(kind) for kind in ErrorKind],
    }


def kind_text(kind: ErrorKind) -> tuple[str, str, str]:
    if kind in KINDS:
        return KINDS[kind]
    code = _pusher_code(kind)
    if code is None:
        raise KeyError(kind)
    info = explain_code(code)
    return info.title, info.meaning, info.fix


def _pusher_code(kind: ErrorKind) -> int | None:
    """The close code a Pusher kind stands for (a range's first code for the range kinds)."""
    if kind.value.startswith("pusher_4"):  # the per-code Pusher kinds
        return int(kind.value.removeprefix("pusher_"))
    ranges = {
        ErrorKind.PUSHER_OVER_CAPACITY: 4100,
        ErrorKind.PUSHER_RECONNECT: 4200,
        ErrorKind.PUSHER_CLIENT_EVENT_REJECTED: 4301,
    }
    return ranges.get(kind)
