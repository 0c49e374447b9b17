"""What every Pusher close/error code and WebSocket close code means, and what to do. Pure data.

Sources: the Pusher protocol docs and pusher-js's reconnect rules, summarised
in PUSHER-PROTOCOL.md ("Close and error codes"); RFC 6455 section 7.4 and
IANA's close code registry for 1000-1015 and the ranges (1016-2999 reserved,
3000-3999 registered by libraries, 4000-4999 private: Pusher's, and above
4399 pusher-js gives up as on any code it does not know). ``reconnect`` is
what a client should do next: ``tls`` (retry at once over wss), ``backoff``
(retry after ≥1 s, growing), ``immediately``, or ``give_up``.

Some codes mean one thing on Pusher's clusters and another on a self-hosted
server (soketi, Reverb): a wrong key is a cluster mix-up on Pusher but a
missing entry in the server's own app config on soketi (issue 9, defect 12).
``explain_code`` takes ``self_hosted`` for that; None (not known, as in
``wsdiag explain``) covers both.
"""

from __future__ import annotations

from typing import Literal

from wsdiag.models import ErrorKind
from wsdiag.records import record

Reconnect = Literal["tls", "backoff", "immediately", "give_up"]


@record
class CodeInfo:
    code: int
    title: str
    meaning: str
    fix: str
    reconnect: Reconnect
    kind: ErrorKind

    def cause(self, message: str = "") -> str:
        """The meaning, after the server's own words when it sent some."""
        said = " ".join(message.split())
        return f'the server said "{said}": {self.meaning}' if said else self.meaning


_CODES: dict[int, tuple[str, str, str, Reconnect, ErrorKind]] = {
    1000: (
        "normal closure",
        "the server closed the connection normally",
        "nothing to fix, unless it happens right after connecting: then read the server's logs",
        "backoff",
        ErrorKind.WS_CLOSED,
    ),
    1001: (
        "going away",
        "the server is shutting down or restarting (a deploy, a scale-in)",
        "reconnect; if it repeats, check the server's health",
        "backoff",
        ErrorKind.WS_CLOSED,
    ),
    1002: (
        "protocol error",
        "the peer saw a WebSocket protocol violation",
        "a proxy may be rewriting frames: try wss:// on 443, which proxies cannot touch",
        "backoff",
        ErrorKind.WS_PROTOCOL_ERROR,
    ),
    1003: (
        "unsupported data",
        "the peer received a frame type it does not accept",
        "send text frames only (Pusher has no binary frames)",
        "backoff",
        ErrorKind.WS_PROTOCOL_ERROR,
    ),
    1004: (
        "reserved",
        "RFC 6455 reserves 1004 without a meaning: no endpoint should send it, so the peer "
        "or something in between is misbehaving",
        "read the close reason and the server's logs; try wss:// on 443 so that no proxy can "
        "rewrite the connection",
        "backoff",
        ErrorKind.WS_PROTOCOL_ERROR,
    ),
    1005: (
        "no status",
        "the close frame carried no code (1005 is never sent: the receiving end reports it)",
        "reconnect; if the server closes right after connecting, read its logs",
        "backoff",
        ErrorKind.WS_CLOSED,
    ),
    1006: (
        "abnormal closure",
        "the connection dropped without a close frame: very often a proxy, firewall or "
        "load balancer that does not support WebSockets, or one that kills idle connections",
        "use wss:// on 443 (proxies pass TLS through untouched), ask for WebSocket support on "
        "the proxy, or raise its idle timeout above the activity timeout",
        "backoff",
        ErrorKind.WS_CLOSED,
    ),
    1007: (
        "invalid payload data",
        "a message's data did not match its type, e.g. a text frame that is not valid UTF-8",
        "something on the path rewrites frames (a proxy, an antivirus): try wss:// on 443; "
        "otherwise the sender encodes text wrongly",
        "backoff",
        ErrorKind.WS_PROTOCOL_ERROR,
    ),
    1008: (
        "policy violation",
        "the server closed the connection for a policy reason",
        "read the close reason and the server's logs",
        "backoff",
        ErrorKind.WS_CLOSED,
    ),
    1009: (
        "message too big",
        "a message was larger than the peer accepts",
        "send smaller messages",
        "backoff",
        ErrorKind.WS_PROTOCOL_ERROR,
    ),
    1010: (
        "mandatory extension",
        "the client closed the connection: the server did not agree to a WebSocket extension "
        "the client requires (the close reason names it)",
        "let the client do without the extension (e.g. permessage-deflate), or enable it on "
        "the server",
        "backoff",
        ErrorKind.WS_PROTOCOL_ERROR,
    ),
    1011: (
        "server error",
        "the server hit an internal error",
        "retry; check the server's logs",
        "backoff",
        ErrorKind.WS_CLOSED,
    ),
    1012: (
        "service restart",
        "the server is restarting",
        "reconnect after a moment",
        "backoff",
        ErrorKind.WS_CLOSED,
    ),
    1013: (
        "try again later",
        "the server is overloaded",
        "reconnect after a delay",
        "backoff",
        ErrorKind.WS_CLOSED,
    ),
    1014: (
        "bad gateway",
        "a gateway or proxy in front of the server got an invalid response from the server "
        "behind it",
        "check the server behind the proxy or load balancer (running, right port) and the "
        "proxy's logs",
        "backoff",
        ErrorKind.WS_CLOSED,
    ),
    1015: (
        "TLS handshake failed",
        "the TLS handshake failed, e.g. the server's certificate could not be verified (1015 is "
        "never sent: the client reports it)",
        "run `wsdiag tls TARGET`: it names the certificate or protocol problem",
        "backoff",
        ErrorKind.TLS_PROTOCOL_ERROR,
    ),
    4000: (
        "TLS required",
        "this app accepts only encrypted connections",
        "connect with wss:// (pusher-js: forceTLS: true, the default)",
        "tls",
        ErrorKind.PUSHER_TLS_REQUIRED,
    ),
    4001: (
        "app does not exist",
        'no app with this key exists on this Pusher cluster or server (Pusher: "App key … not '
        'in this cluster. Did you forget to specify the cluster?"; soketi: "App key … does not '
        'exist."; Reverb: "Application does not exist")',
        "on Pusher, --key and the cluster (PUSHER_APP_CLUSTER) must match the app's 'App Keys' "
        "page; on a self-hosted server the key must be in the server's app config (soketi "
        "SOKETI_DEFAULT_APP_KEY, Reverb REVERB_APP_KEY); passing the numeric app *id* as the "
        "key is a common mistake",
        "give_up",
        ErrorKind.PUSHER_APP_NOT_FOUND,
    ),
    4003: (
        "app disabled",
        "the app exists but is disabled",
        "enable the app in the dashboard (or the server's app config)",
        "give_up",
        ErrorKind.PUSHER_APP_DISABLED,
    ),
    4004: (
        "over connection quota",
        "the app has reached its plan's connection limit",
        "upgrade the plan or close idle connections (self-hosted: raise max connections)",
        "give_up",
        ErrorKind.PUSHER_OVER_QUOTA,
    ),
    4005: (
        "path not found",
        "the WebSocket path is not /app/KEY",
        "connect to /app/KEY?protocol=7 (a reverse proxy may rewrite the path)",
        "give_up",
        ErrorKind.PUSHER_PATH_NOT_FOUND,
    ),
    4006: (
        "invalid version string",
        "the client's version query parameter is malformed",
        "update the client library",
        "give_up",
        ErrorKind.PUSHER_INVALID_VERSION,
    ),
    4007: (
        "unsupported protocol version",
        "the server does not speak this protocol version",
        "use protocol=7 (update the client library)",
        "give_up",
        ErrorKind.PUSHER_UNSUPPORTED_PROTOCOL,
    ),
    4008: (
        "no protocol version",
        "the connection URL has no protocol parameter",
        "add ?protocol=7 to the URL (update the client library)",
        "give_up",
        ErrorKind.PUSHER_NO_PROTOCOL,
    ),
    4009: (
        "connection unauthorized",
        "the server refused the connection (soketi also closes with 4009 when user sign-in "
        "does not happen in time)",
        "check the app's connection rules; sign the user in promptly when user authentication "
        "is required",
        "give_up",
        ErrorKind.PUSHER_UNAUTHORIZED,
    ),
    4100: (
        "over capacity",
        "the server is over capacity (soketi: the app's connection limit)",
        "retry after a pause; self-hosted: raise the app's max connections",
        "backoff",
        ErrorKind.PUSHER_OVER_CAPACITY,
    ),
    4200: (
        "generic reconnect",
        "the server asks the client to reconnect",
        "reconnect at once",
        "immediately",
        ErrorKind.PUSHER_RECONNECT,
    ),
    4201: (
        "pong not received",
        "the server closed the connection: the client did not answer pings in time",
        "check that nothing on the path (proxy, load balancer) stalls or kills quiet connections",
        "immediately",
        ErrorKind.PUSHER_RECONNECT,
    ),
    4202: (
        "closed after inactivity",
        "the connection was idle too long",
        "send pings within the activity timeout (pusher-js does this by itself)",
        "immediately",
        ErrorKind.PUSHER_RECONNECT,
    ),
    4301: (
        "client event rejected",
        "client events were sent faster than allowed (10 per second per connection)",
        "slow down client events",
        "give_up",
        ErrorKind.PUSHER_CLIENT_EVENT_REJECTED,
    ),
    4302: (
        "watchlist limit",
        "too many users in the watchlist",
        "reduce the watchlist",
        "give_up",
        ErrorKind.PUSHER_CLIENT_EVENT_REJECTED,
    ),
}


# (meaning, fix) where Pusher's clusters and self-hosted servers differ: True is
# self-hosted, False is Pusher. Server texts: soketi 1.6 src/ws-handler.ts, Reverb
# src/Protocols/Pusher/Exceptions (see PUSHER-PROTOCOL.md "Self-hosted servers").
_WHERE: dict[int, dict[bool, tuple[str, str]]] = {
    4001: {
        False: (
            "no app with this key exists on this Pusher cluster: a key belongs to one cluster, "
            "so a key of another cluster is refused like a typo",
            "check the key and the cluster: a key belongs to one cluster, so --key and the "
            "cluster (PUSHER_APP_CLUSTER) must match the app's 'App Keys' page; passing the "
            "numeric app *id* as the key is a common mistake",
        ),
        True: (
            "no app with this key on this server (the key is not in its app config)",
            "use the key the server is configured with, or configure this one on the server and "
            "restart it: soketi SOKETI_DEFAULT_APP_KEY (the SOKETI_ prefix is required), Reverb "
            "REVERB_APP_KEY; the client's PUSHER_APP_KEY / VITE_PUSHER_APP_KEY (Reverb: "
            "VITE_REVERB_APP_KEY) must be the same key, and the numeric app *id* is not the key",
        ),
    },
    4003: {
        False: ("the app exists but is disabled", "enable the app in the Pusher dashboard"),
        True: (
            "the app exists but is disabled in the server's app config",
            "enable the app in the server's app config (soketi: SOKETI_DEFAULT_APP_ENABLED=true, "
            "or the app's enabled column)",
        ),
    },
    4004: {
        False: (
            "the app has reached its plan's connection limit",
            "upgrade the plan or close idle connections",
        ),
        True: (
            "the app has reached the server's connection limit for it (Reverb sends 4004)",
            "raise the app's max connections (Reverb REVERB_APP_MAX_CONNECTIONS) or close idle "
            "connections",
        ),
    },
    4100: {
        False: ("Pusher is over capacity", "retry after a pause"),
        True: (
            "the server is over capacity (soketi sends 4100 for the app's connection limit)",
            "retry after a pause; soketi: raise SOKETI_DEFAULT_APP_MAX_CONNS (or the app's "
            "max_connections)",
        ),
    },
}


def explain_code(code: int, *, self_hosted: bool | None = None) -> CodeInfo:
    """Everything known about ``code``; ranges and unknown codes get honest generic entries.

    ``self_hosted``: True for a soketi/Reverb server, False for Pusher's clusters,
    None when not known (the explanation then covers both).
    """
    if code in _CODES:
        title, meaning, fix, reconnect, kind = _CODES[code]
        if self_hosted is not None and code in _WHERE:
            meaning, fix = _WHERE[code][self_hosted]
        return CodeInfo(code, title, meaning, fix, reconnect, kind)
    if 1016 <= code <= 2999:
        return CodeInfo(
            code,
            "reserved",
            f"RFC 6455 reserves {code} for the WebSocket protocol and its extensions: no "
            "endpoint should send it, so the peer or something in between is misbehaving",
            "read the close reason and the server's logs; try wss:// on 443 so that no proxy "
            "can rewrite the connection",
            "backoff",
            ErrorKind.WS_PROTOCOL_ERROR,
        )
    if 3000 <= code <= 3999:
        return CodeInfo(
            code,
            "library code",
            f"{code} is in the range libraries and frameworks register with IANA: its meaning "
            "is the sender's, not Pusher's",
            "read the close reason and the documentation of the server or proxy that sent it",
            "backoff",
            ErrorKind.PUSHER_ERROR,
        )
    if 4000 <= code <= 4099:
        return CodeInfo(
            code,
            "connection refused",
            f"the server refused the connection ({code})",
            "read the server's message; do not retry the same request",
            "give_up",
            ErrorKind.PUSHER_ERROR,
        )
    if 4100 <= code <= 4199:
        return CodeInfo(
            code,
            "over capacity",
            f"the server is over capacity ({code})",
            "retry after a pause",
            "backoff",
            ErrorKind.PUSHER_OVER_CAPACITY,
        )
    if 4200 <= code <= 4299:
        return CodeInfo(
            code,
            "reconnect",
            f"the server asks for a reconnect ({code})",
            "reconnect at once",
            "immediately",
            ErrorKind.PUSHER_RECONNECT,
        )
    if 4300 <= code <= 4399:
        return CodeInfo(
            code,
            "client event rejected",
            f"the server rejected a client event ({code})",
            "check client event rules (private/presence channels, rate, size)",
            "give_up",
            ErrorKind.PUSHER_CLIENT_EVENT_REJECTED,
        )
    if 4400 <= code <= 4999:  # pusher-js treats every code above its ranges as refused
        return CodeInfo(
            code,
            "application code",
            f"{code} is an application's own close code, not one of Pusher's",
            "read the close reason and the server's documentation",
            "give_up",
            ErrorKind.PUSHER_ERROR,
        )
    return CodeInfo(
        code,
        "unknown code",
        f"code {code} is not one wsdiag knows",
        "read the close reason and the server's documentation",
        "backoff",
        ErrorKind.PUSHER_ERROR,
    )


def known_codes() -> list[int]:
    return sorted(_CODES)
