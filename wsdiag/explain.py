"""Offline explanations for ``wsdiag explain``: close codes, HTTP API statuses, error kinds.

Pure data and lookup; no network. Every ``ErrorKind`` has an entry (a test
keeps it so), written for someone who saw the kind in a report or in JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

from wsdiag.models import ErrorKind
from wsdiag.pusher.codes import explain_code


@dataclass(frozen=True)
class Explanation:
    topic: str  # "close code 4001", "HTTP API status 401", "error kind tcp_filtered"
    title: str
    meaning: str
    fix: str


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
    _K.PING_TIMEOUT: (
        "no pong",
        "pusher:ping got no pusher:pong in time",
        "a proxy or the server stalls the connection",
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
    _K.API_TIMEOUT: ("API timeout", "the HTTP API did not answer in time", "retry; check the path"),
    _K.API_UNEXPECTED_STATUS: (
        "unexpected status",
        "an HTTP status the API does not document",
        "check host and port",
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

HTTP_STATUSES: dict[int, ErrorKind] = {
    400: ErrorKind.API_BAD_REQUEST,
    401: ErrorKind.API_UNAUTHORIZED,
    403: ErrorKind.API_FORBIDDEN,
    404: ErrorKind.API_NOT_FOUND,
    413: ErrorKind.API_TOO_LARGE,
    500: ErrorKind.API_SERVER_ERROR,
    502: ErrorKind.API_SERVER_ERROR,
    503: ErrorKind.API_SERVER_ERROR,
}


def explain(topic: str) -> Explanation | None:
    """A close code (1000-4999), an HTTP API status (400-599) or an error kind name."""
    text = topic.strip().lower()
    if text.isdigit():
        number = int(text)
        if 1000 <= number <= 4999:
            info = explain_code(number)
            return Explanation(
                f"close code {number}",
                info.title,
                info.meaning,
                f"{info.fix} (a client should: {info.reconnect.replace('_', ' ')})",
            )
        if 400 <= number <= 599:
            kind = HTTP_STATUSES.get(
                number,
                ErrorKind.API_UNEXPECTED_STATUS if number < 500 else ErrorKind.API_SERVER_ERROR,
            )
            title, meaning, fix = kind_text(kind)
            return Explanation(f"HTTP API status {number}", title, meaning, fix)
        return None
    for kind in ErrorKind:
        if text in (kind.value, kind.name.lower()):
            title, meaning, fix = kind_text(kind)
            return Explanation(f"error kind {kind.value}", title, meaning, fix)
    return None


def kind_text(kind: ErrorKind) -> tuple[str, str, str]:
    if kind in KINDS:
        return KINDS[kind]
    if kind.value.startswith("pusher_4"):  # the per-code Pusher kinds
        info = explain_code(int(kind.value.removeprefix("pusher_")))
        return info.title, info.meaning, info.fix
    ranges = {
        ErrorKind.PUSHER_OVER_CAPACITY: 4100,
        ErrorKind.PUSHER_RECONNECT: 4200,
        ErrorKind.PUSHER_CLIENT_EVENT_REJECTED: 4301,
    }
    info = explain_code(ranges[kind])
    return info.title, info.meaning, info.fix
