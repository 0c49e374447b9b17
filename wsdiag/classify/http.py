"""HTTP replies that are failures: an upgrade refused, an HTTP API status → kind, cause, fix. Pure.

The websocket stage asks here about a reply that is not 101; the api stage (and
publish, channels, delivery) about a status that is not 200, or a 200 whose body
carries an error (soketi's form).
"""

from __future__ import annotations

from wsdiag.classify.diagnosis import Diagnosis
from wsdiag.models import ErrorKind

UPGRADE_STATUSES: dict[int, tuple[str, str]] = {
    400: (
        "the server refused the upgrade as a bad request: not a WebSocket endpoint, a proxy "
        "that stripped the Upgrade/Connection headers, or (with ws://) a TLS port",
        "if behind nginx, forward Upgrade and Connection (proxy_set_header Upgrade $http_upgrade); "
        "check the port, and use wss:// if it is a TLS port",
    ),
    401: (
        "the server or a proxy requires authentication for this URL",
        "a proxy that wants credentials cannot carry WebSockets: ask for an exception",
    ),
    403: (
        "the upgrade was forbidden: an IP allow-list, a WAF, or the server's allowed origins",
        "check the firewall/WAF rules and the server's allowed origins",
    ),
    404: (
        "no WebSocket endpoint at /app/KEY (after the URL's path prefix, if any) on this host "
        "and port: a web server, the wrong port or a wrong path prefix answered",
        "use the Pusher server's port (soketi 6001, Reverb 8080), or fix the reverse proxy's "
        "location for /app/; a server behind a path prefix takes it in the URL "
        "(ws://host:port/prefix, as pusher-js's wsPath)",
    ),
    426: (
        "Upgrade Required: the server or a proxy will not take this upgrade here (typical of "
        "port 80 through proxies, or HTTP on a TLS-only endpoint)",
        "use wss:// on 443",
    ),
    502: (
        "the reverse proxy could not reach the WebSocket server behind it",
        "start the Pusher server (soketi/Reverb) or fix the proxy's upstream port",
    ),
    503: ("the service is unavailable", "retry later; check the server and status.pusher.com"),
    504: (
        "the reverse proxy timed out waiting for the WebSocket server",
        "check the upstream server and the proxy's timeouts",
    ),
}


def classify_upgrade_status(status: int, *, html: bool, path: str) -> Diagnosis:
    """A reply other than 101 to the WebSocket upgrade of ``path`` (prefix and key included)."""
    if status in UPGRADE_STATUSES:
        cause, fix = UPGRADE_STATUSES[status]
        if status == 404:  # the path asked for, prefix and key included (issue 9, defect 11)
            cause += f"; wsdiag asked for {path}"
    elif 200 <= status < 300:
        cause = f"the server answered {status} instead of 101 Switching Protocols" + (
            " with an HTML page: a captive portal or a proxy that dropped the Upgrade header"
            if html
            else ": a proxy that dropped the Upgrade header, or not a WebSocket server"
        )
        fix = "log in to the network's portal if there is one; otherwise use wss:// on 443"
    else:
        cause = f"the server refused the upgrade with HTTP {status}"
        fix = "read the body below; check host, port and the reverse proxy's WebSocket config"
    return Diagnosis(ErrorKind.WS_UPGRADE_REJECTED, f"HTTP {status}", cause, fix)


_API_STATUSES: dict[int, tuple[ErrorKind, str, str]] = {
    400: (
        ErrorKind.API_BAD_REQUEST,
        "the server refused the request as malformed",
        "read the server's message: usually a bad channel/event name or too many channels",
    ),
    403: (
        ErrorKind.API_FORBIDDEN,
        "the app is disabled or over its message quota",
        "check the app's status and plan in the dashboard",
    ),
    413: (
        ErrorKind.API_TOO_LARGE,
        "the payload is too large for the server",
        "keep data under 10 KB (Pusher's limit) or raise the server's limit",
    ),
    429: (
        ErrorKind.API_RATE_LIMITED,
        "too many requests: the app's rate limit on the server (or a gateway's in front of it) "
        "refused this one",
        "slow down and retry after a pause (Retry-After, when sent, says how long); self-hosted: "
        "raise the app's limits (soketi SOKETI_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC)",
    ),
}


def classify_api_status(
    status: int,
    body: str,
    *,
    key: str | None,
    masked_secret: str,
    app_id: str | None,
    skew_s: float | None,
) -> Diagnosis:
    """An HTTP API reply that failed (``status`` is the body's own code for soketi's 200s)."""
    text = body.lower()
    summary = f"HTTP {status}"
    # "Timestamp expired: Given timestamp (…) not within 600s of server time"; an
    # "Invalid signature" body quotes auth_timestamp too, so match the phrase.
    if status == 401 and ("timestamp expired" in text or "not within" in text):
        shown = f" (measured skew: {skew_s:+.0f} s)" if skew_s is not None else ""
        return Diagnosis(
            ErrorKind.API_TIMESTAMP_EXPIRED,
            summary,
            f"the server rejected auth_timestamp: clocks differ by more than 600 s{shown}",
            "sync this machine's clock (timedatectl set-ntp true)",
        )
    if status == 401:
        return Diagnosis(
            ErrorKind.API_UNAUTHORIZED,
            summary,
            f"the server rejected the signature for key {key!r} (secret {masked_secret})",
            "check that key, secret and app id belong to the same app; --debug or --json "
            "shows the exact string that was signed",
        )
    if status == 404:
        return Diagnosis(
            ErrorKind.API_NOT_FOUND,
            summary,
            f"no such resource: is the app id {app_id!r} right?",
            "check PUSHER_APP_ID (the numeric id, not the key) and the host",
        )
    if status in _API_STATUSES:
        kind, cause, fix = _API_STATUSES[status]
        return Diagnosis(kind, summary, cause, fix)
    if status >= 500:
        return Diagnosis(
            ErrorKind.API_SERVER_ERROR,
            summary,
            f"the server failed with {status}",
            "retry later; check status.pusher.com or the self-hosted server's logs",
        )
    return Diagnosis(
        ErrorKind.API_UNEXPECTED_STATUS,
        summary,
        f"unexpected HTTP status {status}",
        "check that the host and port point at the Pusher HTTP API",
    )
