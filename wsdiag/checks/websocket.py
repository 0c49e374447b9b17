"""The ``websocket`` stage: HTTP upgrade on ``/app/KEY`` and the Pusher handshake.

TCP and TLS are done here with our own timeouts and timings, then
websocket-client runs the upgrade on the connected socket. Any reply but 101
is diagnosed from its status line and first body bytes; after 101 we wait
for ``pusher:connection_established`` or explain the ``pusher:error`` / close
code. The open connection is returned as a ``PusherSession`` for ``ping``,
``tail`` and the end-to-end checks.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, cast
from urllib.parse import urlsplit

import websocket

from wsdiag import __version__, trace
from wsdiag.checks import CheckOptions, dial_stage
from wsdiag.classify import Diagnosis, classify_dial, classify_upgrade_status
from wsdiag.dialer import DialError
from wsdiag.models import ErrorKind, Handshake, Stage, StageResult, Status, Stopwatch
from wsdiag.pusher.client import Connected, HandshakeFailed
from wsdiag.pusher.codes import explain_code
from wsdiag.pusher.frames import connection_path
from wsdiag.session import PusherSession
from wsdiag.target import PLACEHOLDER_KEY, Endpoint, is_ip_literal
from wsdiag.transport import tls_context

BODY_PREVIEW = 200


class _LentSocket:
    """Our connected socket, lent to websocket-client for the upgrade.

    websocket-client closes the socket when the upgrade fails, but the first
    body bytes of a non-101 reply are still unread in it and are what tells a
    captive portal from a proxy: so ``close`` here waits until we close the
    real socket ourselves.
    """

    # The reply head is kept too: when websocket-client rejects a 101 it does not
    # say which header was wrong, and that header names the culprit proxy.
    HEAD_LIMIT = 16384

    def __init__(self, sock: socket.socket, label: str = "") -> None:
        self._sock = sock
        self.head = b""
        self.label = label  # the trace's name for this connection
        self.request = b""  # the upgrade request as sent, traced as curl -v shows it (issue 14)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def send(self, data: bytes) -> int:
        sent: int = self._sock.send(data)
        if b"\r\n\r\n" not in self.request:
            self.request += data[:sent]
            if b"\r\n\r\n" in self.request:
                trace.http_head(">>", self.label, "WebSocket upgrade request", self.request)
        return sent

    def recv(self, bufsize: int) -> bytes:
        data = self._sock.recv(bufsize)
        if len(self.head) < self.HEAD_LIMIT and b"\r\n\r\n" not in self.head:
            self.head += data
            if b"\r\n\r\n" in self.head:
                trace.http_head("<<", self.label, "upgrade response", self.head)
        return data

    def close(self) -> None:
        pass


def open_pusher(
    endpoint: Endpoint, addresses: str | Sequence[str] | None, key: str, options: CheckOptions
) -> tuple[StageResult, PusherSession | None]:
    """Connect, upgrade, handshake; a session only when connection_established came.

    ``addresses`` are raced as a client races them (Happy Eyeballs); None asks
    the system resolver, as the user's own client would.
    """
    addresses = [addresses] if isinstance(addresses, str) else addresses
    address = addresses[0] if addresses else endpoint.host
    url = f"{endpoint.scheme}://{endpoint}{connection_path(key, __version__, endpoint.path)}"
    subject = _subject_of(endpoint, options, address)
    origin = options.origin or default_origin(endpoint)
    details: dict[str, Any] = {"url": url, "address": address, "origin": origin}
    if options.proxy:
        details["proxy"] = options.proxy.label
    watch = Stopwatch()

    def result(
        status: Status,
        summary: str,
        kind: ErrorKind | None = None,
        cause: str | None = None,
        fix: str | None = None,
        *,
        outcome: Handshake | None = None,
    ) -> StageResult:
        return StageResult(
            Stage.WEBSOCKET,
            subject,
            status,
            summary,
            kind,
            cause,
            fix,
            details,
            watch.frozen(),
            outcome=outcome,
        )

    try:
        conn = dial_stage(
            endpoint.host,
            endpoint.port,
            options,
            addresses=addresses,
            watch=watch,
            tls=tls_context(options.ca_bundle, options.verify_tls) if endpoint.tls else None,
        )
    except DialError as err:
        details["address"] = err.address or address
        subject = _subject_of(endpoint, options, details["address"])
        found = _dial_failure(err, endpoint, options)
        return result(Status.FAIL, found.summary, found.kind, found.cause, found.fix), None
    sock = conn.sock
    details["address"] = conn.address or address
    subject = _subject_of(endpoint, options, details["address"])
    ws: Any = websocket.WebSocket(enable_multithread=True)
    lent = _LentSocket(sock, subject)
    try:
        with watch.phase("upgrade"):
            ws.connect(
                url,
                socket=lent,
                timeout=options.timeout,
                redirect_limit=0,
                header=[f"User-Agent: wsdiag/{__version__}"],
                origin=origin,
            )
    except websocket.WebSocketBadStatusException as exc:
        return _rejected(result, details, exc, sock), None
    except (websocket.WebSocketTimeoutException, TimeoutError):
        sock.close()
        return result(
            Status.FAIL,
            f"no reply to the upgrade within {options.timeout:g} s",
            ErrorKind.WS_TIMEOUT,
            "the server (or something in between) accepted the connection but never "
            "answered the WebSocket upgrade",
            "check that this port serves WebSockets; a proxy that holds requests "
            "(inspection, auth) also looks like this",
        ), None
    except websocket.WebSocketConnectionClosedException:
        sock.close()
        tls_port = _tls_port(result, endpoint, details, options, lent.head)  # issue 9, defect 6
        return tls_port or result(
            Status.FAIL,
            "connection closed with no reply to the upgrade",
            ErrorKind.WS_CLOSED,
            "the server (or something in between) closed the connection without answering "
            "the WebSocket upgrade: not a WebSocket server, or a proxy/firewall that drops "
            "upgrades",
            "check that this port serves WebSockets (self-hosted: the server's port and path); "
            "on a filtered network try wss:// on 443",
        ), None
    except websocket.WebSocketException as exc:
        sock.close()
        redirect = ws.handshake_response
        if redirect is not None and 300 <= redirect.status < 400:
            return _redirected(result, details, redirect.status, redirect.headers or {}), None
        broken = _broken_switch(lent.head)
        if broken is not None:
            cause, headers = broken
            details.update(status=101, headers=headers)
            return result(
                Status.FAIL,
                f"101 Switching Protocols without {cause}",
                ErrorKind.WS_UPGRADE_REJECTED,
                f"the server switched protocols but the reply arrived without {cause}"
                + _via(headers)
                + ": a proxy in between strips the hop-by-hop upgrade headers, so no "
                "WebSocket client will accept the connection",
                "make the proxy pass WebSocket upgrades (nginx: proxy_http_version 1.1; "
                "proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "
                '"upgrade"), or go around it; wss:// hides the upgrade from forward proxies',
            ), None
        tls_port = _tls_port(result, endpoint, details, options, lent.head)  # not HTTP: TLS?
        return tls_port or result(
            Status.FAIL,
            f"upgrade failed: {exc}",
            ErrorKind.WS_UPGRADE_REJECTED,
            "the reply was not a valid WebSocket upgrade (101 without the right "
            "Upgrade/Connection/Sec-WebSocket-Accept headers): a proxy is interfering",
            "use wss:// on 443 so proxies cannot rewrite the upgrade",
        ), None
    except (OSError, ssl.SSLError) as exc:
        sock.close()
        tls_port = _tls_port(result, endpoint, details, options, lent.head)  # a TLS server's RST
        return tls_port or result(
            Status.FAIL,
            f"connection lost during the upgrade: {exc}",
            ErrorKind.WS_CLOSED,
            "the connection was closed while waiting for the upgrade reply",
            "a proxy or firewall may drop WebSocket upgrades: try wss:// on 443",
        ), None
    status = ws.handshake_response.status if ws.handshake_response else 0
    details["status"] = status
    details["headers"] = _interesting_headers(ws.getheaders() or {})
    if status != 101:  # older websocket-client versions return redirects instead of raising
        sock.close()
        return _redirected(result, details, status, ws.getheaders() or {}), None
    return _pusher_handshake(
        ws, sock, key, options, watch, result, details, subject, self_hosted=endpoint.self_hosted
    )


def default_origin(endpoint: Endpoint) -> str:
    """The Origin a WebSocket library sends unless told: the target's own scheme and host."""
    scheme = "https" if endpoint.tls else "http"
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    default = 443 if endpoint.tls else 80
    return f"{scheme}://{host}" + ("" if endpoint.port == default else f":{endpoint.port}")


def _subject_of(endpoint: Endpoint, options: CheckOptions, address: str) -> str:
    return f"{endpoint.url} via {'proxy' if options.proxy else address}"


def _dial_failure(err: DialError, endpoint: Endpoint, options: CheckOptions) -> Diagnosis:
    found = classify_dial(err, endpoint.host, endpoint.port, options.timeout)
    if err.phase != "tls":
        return found
    fix = f"{found.fix} (`wsdiag tls` shows the certificate chain)"
    return replace(found, summary=f"TLS: {found.summary}", fix=fix)


def _pusher_handshake(
    ws: Any,
    sock: socket.socket,
    key: str,
    options: CheckOptions,
    watch: Stopwatch,
    result: Any,
    details: dict[str, Any],
    subject: str,
    *,
    self_hosted: bool,
) -> tuple[StageResult, PusherSession | None]:
    session = PusherSession(ws, sock, subject)
    with watch.phase("handshake"):
        outcome = _handshake_outcome(session, time.monotonic() + options.timeout)
    if isinstance(outcome, Connected):
        activity = outcome.activity_timeout
        session.server_activity_timeout = activity
        details.update(socket_id=outcome.socket_id, activity_timeout=activity)
        return result(
            Status.OK,
            f"connected, socket_id {outcome.socket_id}, activity_timeout {activity} s",
            outcome=Handshake(socket_id=outcome.socket_id, activity_timeout=activity),
        ), session
    sock.close()
    if outcome is None:
        kind, text = ErrorKind.PUSHER_NO_HANDSHAKE, "no pusher:connection_established in time"
        return result(Status.FAIL, text, kind, *_handshake_hint(kind, options)), None
    if outcome.code is None:  # a frame that is no handshake, or pusher:error without a code
        kind = ErrorKind.PUSHER_BAD_FRAME if outcome.bad_frame else ErrorKind.PUSHER_ERROR
        return result(Status.FAIL, outcome.message, kind, *_handshake_hint(kind, options)), None
    code, message = outcome.code, outcome.message
    details["close_code"] = code
    details["message"] = message
    if code == 4009 and "origin" in message.lower():
        return _origin_refused(result, details, message), None
    info = explain_code(code, self_hosted=self_hosted)  # a wrong key: cluster or app config
    if code == 4001 and key == PLACEHOLDER_KEY:
        details["note"] = "placeholder key"
        return result(
            Status.OK,
            "reached Pusher: placeholder key rejected with 4001 as expected "
            "— pass --key to test your app",
            outcome=Handshake(close_code=code, placeholder_key=True),
        ), None
    return result(
        Status.FAIL,
        f"{code} {info.title}" + (f": {message}" if message else ""),
        info.kind,
        info.cause(message),
        info.fix,
        outcome=Handshake(close_code=code),
    ), None


def _origin_refused(result: Any, details: dict[str, Any], message: str) -> StageResult:
    """Reverb's 4009 "Origin not allowed": which origin was sent, and where it is allowed."""
    origin = details["origin"]
    host = urlsplit(origin).hostname or origin
    return cast(
        StageResult,
        result(
            Status.FAIL,
            f"4009 origin not allowed: {message}",
            ErrorKind.PUSHER_ORIGIN_NOT_ALLOWED,
            f"the server refused this connection's Origin ({origin}): Laravel Reverb matches "
            "the host part of Origin against allowed_origins (config/reverb.php, per app; "
            "wildcards such as *.example.com allowed) and answers 4009 to any other",
            f"add {host} (or the host of the pages your app runs on) to allowed_origins and "
            "restart Reverb ('*' allows every origin); a browser sends its page's origin, so "
            "test with --origin https://your.app, as the browser does",
            outcome=Handshake(close_code=4009),
        ),
    )


def _handshake_outcome(
    session: PusherSession, deadline: float
) -> Connected | HandshakeFailed | None:
    """The client's verdict on the handshake; None when the deadline passed first."""
    while (event := session.next_event(deadline)) is not None:
        if isinstance(event, Connected | HandshakeFailed):
            return event
    return None


def _handshake_hint(kind: ErrorKind, options: CheckOptions) -> tuple[str, str]:
    if kind is ErrorKind.PUSHER_NO_HANDSHAKE:
        return (
            f"the upgrade worked but no pusher:connection_established came within "
            f"{options.timeout:g} s: this is a WebSocket server, but not speaking the Pusher "
            "protocol (wrong port or path behind a proxy?)",
            "point at the Pusher server's port (soketi 6001, Reverb 8080) or raise --timeout",
        )
    if kind is ErrorKind.PUSHER_BAD_FRAME:
        return (
            "the server sent something that is not a Pusher frame",
            "make sure this host and port serve the Pusher protocol, not another WebSocket app",
        )
    return (
        "the server sent pusher:error without a code",
        "read the message; check the server logs",
    )


def _rejected(
    result: Callable[..., StageResult], details: dict[str, Any], exc: Any, sock: socket.socket
) -> StageResult:
    status = int(exc.status_code)
    body = exc.resp_body or _drain(sock)
    sock.close()
    preview = body[:BODY_PREVIEW].decode("utf-8", "replace") if body else ""
    headers = exc.resp_headers or {}
    details.update(
        status=status,
        status_line=f"HTTP {status} {exc.status_message or ''}".strip(),
        headers=_interesting_headers(headers),
        body=preview,
    )
    html = "<html" in preview.lower() or "text/html" in str(headers.get("content-type", ""))
    said = _plain_to_tls_words(body or b"") if details["url"].startswith("ws://") else None
    if said is not None:
        phrase, server = said
        via = f", Server: {headers['server']}" if headers.get("server") else ""
        evidence = f'the server answered HTTP {status} "{phrase}" (wording of {server}{via})'
        cause, fix = _plain_to_tls_text(details, evidence)
        return result(
            Status.FAIL, f'HTTP {status}: "{phrase}"', ErrorKind.WS_PLAIN_TO_TLS_PORT, cause, fix
        )
    found = classify_upgrade_status(status, html=html, path=urlsplit(details["url"]).path)
    snippet = " ".join(preview.split())[:80]
    summary = details["status_line"] + (f": {snippet}" if snippet else "")
    return result(Status.FAIL, summary, found.kind, found.cause, found.fix)


def _redirected(
    result: Callable[..., StageResult],
    details: dict[str, Any],
    status: int,
    headers: dict[str, Any],
) -> StageResult:
    location = headers.get("location", "?")
    details.update(status=status, headers=_interesting_headers(headers))
    return result(
        Status.FAIL,
        f"HTTP {status} redirect to {location}",
        ErrorKind.WS_UPGRADE_REJECTED,
        f"the upgrade was answered with a redirect to {location}: a captive portal "
        "(hotel/airport Wi-Fi login) or an http→https redirect",
        "log in to the network's portal, or use wss:// on 443",
    )


# How servers answer a plain HTTP request on their TLS port (issue 9, defect 6): the
# words in the reply's body, and who says them. OpenSSL- and BoringSSL-based servers
# (Node, soketi, Reverb, HAProxy, Envoy) close without a word: see _tls_port.
_PLAIN_TO_TLS_WORDS: tuple[tuple[str, str], ...] = (
    ("The plain HTTP request was sent to HTTPS port", "nginx"),  # also Cloudflare, AWS ALB
    ("Client sent an HTTP request to an HTTPS server", "Go's net/http: Caddy, Traefik"),
    ("speaking plain HTTP to an SSL-enabled server port", "Apache httpd"),
    ("This combination of host and port requires TLS", "Tomcat"),
)


def _plain_to_tls_words(body: bytes) -> tuple[str, str] | None:
    """``(phrase, who says it)`` when the reply's body says "you sent HTTP to my TLS port"."""
    text = body.decode("latin-1").lower()
    for phrase, server in _PLAIN_TO_TLS_WORDS:
        if phrase.lower() in text:
            return phrase, server
    return None


def _plain_to_tls_text(details: dict[str, Any], evidence: str) -> tuple[str, str]:
    """Cause and fix for ws:// sent to a TLS port; ``evidence`` is what gave it away."""
    # The URL asked for, back to the server's base: ws://host:port/prefix → wss://…
    base = details["url"].split("?", 1)[0].rsplit("/app/", 1)[0]
    wss = "wss://" + base.removeprefix("ws://")
    return (
        f"this port speaks TLS (https/wss), but the connection was plain ws://: {evidence}",
        f"connect with wss:// ({wss}; pusher-js: forceTLS: true); a Laravel .env with "
        "PUSHER_SCHEME=http and PUSHER_PORT=443 sends exactly this: set PUSHER_SCHEME=https "
        "(Reverb: REVERB_SCHEME=https)",
    )


def _tls_port(
    result: Callable[..., StageResult],
    endpoint: Endpoint,
    details: dict[str, Any],
    options: CheckOptions,
    head: bytes,
) -> StageResult | None:
    """For a ws:// upgrade answered without HTTP: the ws_plain_to_tls_port record, if it is one.

    A TLS server reads our plain request as a broken record: some answer with a TLS
    alert (bytes 15 03 …), OpenSSL-based ones (Node, soketi, Reverb) just close or
    reset. Then a TLS handshake on the same port (any certificate) settles it.
    """
    if endpoint.tls or head.startswith(b"HTTP/"):
        return None
    if len(head) >= 3 and head[0] in (0x15, 0x16) and head[1] == 0x03 and head[2] <= 0x04:
        record = "a TLS alert" if head[0] == 0x15 else "a TLS handshake record"
        summary = f"{record} in reply to ws://"
        evidence = f"the server answered {record} (bytes {head[:7].hex(' ')}), not HTTP"
    elif speaks_tls(endpoint, details["address"], options):
        summary = "no HTTP reply; this port speaks TLS"
        sent = f"sent {len(head)} non-HTTP bytes ({head[:8].hex(' ')}…) and " if head else ""
        evidence = (
            f"the server {sent}ended the connection without an HTTP reply, and a TLS handshake "
            "on the same port succeeds"
        )
    else:
        return None
    cause, fix = _plain_to_tls_text(details, evidence)
    return result(Status.FAIL, summary, ErrorKind.WS_PLAIN_TO_TLS_PORT, cause, fix)


def speaks_tls(endpoint: Endpoint, address: str, options: CheckOptions) -> bool:
    """Whether a TLS server answers a handshake on this port (certificate not checked)."""
    try:
        conn = dial_stage(
            endpoint.host,
            endpoint.port,
            options,
            addresses=[address] if is_ip_literal(address) else None,
            tls=tls_context(options.ca_bundle, False),
        )
    except DialError as err:
        # A TLS alert is a TLS server refusing us (protocol version, SNI, client certificate).
        return err.phase == "tls" and "ALERT" in str(getattr(err.error, "reason", "")).upper()
    conn.close()
    return True


def _broken_switch(head: bytes) -> tuple[str, dict[str, str]] | None:
    """For a 101 reply websocket-client refused: which upgrade header was missing or wrong."""
    lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    if not lines or " 101" not in lines[0]:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    missing = []
    if headers.get("upgrade", "").lower() != "websocket":
        missing.append("'Upgrade: websocket'")
    if "upgrade" not in headers.get("connection", "").lower():
        missing.append("'Connection: Upgrade'")
    if "sec-websocket-accept" not in headers:
        missing.append("'Sec-WebSocket-Accept'")
    if not missing:
        return None
    return " and ".join(missing), _interesting_headers(headers)


def _via(headers: dict[str, str]) -> str:
    via = headers.get("via") or headers.get("server")
    return f" (it came through {via})" if via else ""


def _drain(sock: socket.socket) -> bytes:
    """The first body bytes of a reply without Content-Length (websocket-client leaves them)."""
    try:
        sock.settimeout(0.5)
        return sock.recv(BODY_PREVIEW)
    except (OSError, ssl.SSLError):
        return b""


def _interesting_headers(headers: dict[str, Any]) -> dict[str, str]:
    wanted = (
        "server", "via", "location", "content-type", "x-powered-by", "upgrade", "connection",
        # what balancers say about the node behind them (fanout tells nodes apart by it)
        "x-served-by", "x-backend-server", "x-upstream", "x-node",
    )  # fmt: skip
    return {k: str(v) for k, v in headers.items() if k.lower() in wanted}
