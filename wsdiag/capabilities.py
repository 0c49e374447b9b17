"""``wsdiag server``: what this server is, what it supports, and its limits, found by trying.

Nothing is assumed from the server's name: each capability is exercised
(client events between two sockets, ``pusher:signin``, a cache channel, batch
events, terminate_connections, health routes) and each limit is searched for
with real requests (binary search over event size, channels per publish,
events per batch). The server is then named from what answered (soketi's
uWebSockets header, Reverb's ``/up`` and its 4200 to sign-in, Pusher's hosts).
"""

from __future__ import annotations

import http.client
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

from wsdiag.checks import CheckOptions
from wsdiag.credentials import Credentials
from wsdiag.records import record
from wsdiag.target import Endpoint, Target

SUPPORTED, UNSUPPORTED, UNKNOWN = "supported", "not supported", "unknown"
HEALTH_ROUTES = ("/", "/ready", "/up")
KNOWN_LIMITS = {  # what the documentation of each says, to compare with what was found
    "event_bytes": "Pusher 10,240 bytes; soketi 100 KB by default; Reverb 10,000 bytes",
    "channels_per_publish": "Pusher 100; soketi 100 by default",
    "events_per_batch": "Pusher 10; soketi 10 by default",
    "member_info_bytes": "Pusher 1 KB; soketi 2 KB by default",
}


@record
class Capability:
    name: str
    status: str  # supported, not supported, unknown
    detail: str


@record
class Limit:
    name: str
    value: int | None  # the largest accepted; None when not found
    bound: str  # "found", "at least" (the search's ceiling passed), "not measured"
    detail: str
    refused_with: str | None = None  # what the first refused size got (HTTP 413 …)


@dataclass
class ServerReport:
    target: str
    identity: str = "unknown Pusher-compatible server"
    evidence: list[str] = field(default_factory=list)
    health: dict[str, int | None] = field(default_factory=dict)  # route -> HTTP status
    capabilities: list[Capability] = field(default_factory=list)
    limits: list[Limit] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)  # origin -> allowed / refused …
    error: str | None = None  # nothing could be learned: why


def probe_server(
    target: Target,
    credentials: Credentials | None,
    options: CheckOptions,
    origins: tuple[str, ...] = (),
    progress: Callable[[str], None] = lambda text: None,
) -> ServerReport:
    from wsdiag.checks.websocket import open_pusher

    report = ServerReport(target.label)
    first, session = open_pusher(target.websocket, None, target.app_key, options)
    if session is None and not first.outcome:
        report.error = f"no Pusher connection: {first.summary}"
        return report
    if session is not None:
        session.close()
    progress("health routes")
    headers = _health(report, target.api, options)
    if credentials is not None and credentials.complete:
        progress("capabilities")
        _capabilities(report, target, credentials, options)
        progress("limits")
        _limits(report, target, credentials, options)
    else:
        report.evidence.append(
            "no credentials: capabilities and limits need --app-id, --key, --secret"
        )
    for origin in origins:
        progress(f"origin {origin}")
        report.origins[origin] = _origin(target, replace(options, origin=origin))
    _identify(report, target, headers)
    return report


# ---------------------------------------------------------------- identity and health


def _health(report: ServerReport, endpoint: Endpoint, options: CheckOptions) -> dict[str, str]:
    from wsdiag.dialer import DialError
    from wsdiag.exchange import http_exchange
    from wsdiag.models import Stopwatch
    from wsdiag.transport import tls_context

    headers: dict[str, str] = {}
    for route in HEALTH_ROUTES:
        try:
            reply = http_exchange(
                endpoint, "GET", route, timeout=options.timeout, watch=Stopwatch(),
                tls=tls_context(options.ca_bundle, options.verify_tls) if endpoint.tls else None,
                proxy=options.proxy,
            )  # fmt: skip
        except (DialError, OSError, http.client.HTTPException):  # reported as no reply
            report.health[route] = None
            continue
        report.health[route] = reply.status
        headers.update(reply.headers)
    return headers


def _identify(report: ServerReport, target: Target, headers: dict[str, str]) -> None:
    from wsdiag.target import is_pusher_host

    signin = next((c for c in report.capabilities if c.name == "user sign-in"), None)
    if is_pusher_host(target.websocket.host):
        report.identity = "Pusher Channels (Pusher's cloud)"
        report.evidence.insert(0, f"host {target.websocket.host}")
    elif "uwebsockets" in headers:
        report.identity = "soketi"
        report.evidence.insert(0, f"uWebSockets: {headers['uwebsockets']} header (soketi's server)")
    elif report.health.get("/up") == 200 or (signin and "4200" in signin.detail):
        report.identity = "Laravel Reverb"
        why = "/up answers 200" if report.health.get("/up") == 200 else "4200 to pusher:signin"
        report.evidence.insert(0, f"{why} (Reverb's)")
    elif headers.get("server"):
        report.evidence.insert(0, f"Server: {headers['server']}")


# ---------------------------------------------------------------- capabilities


def _capabilities(
    report: ServerReport, target: Target, credentials: Credentials, options: CheckOptions
) -> None:
    report.capabilities.append(_client_events(target, credentials, options))
    report.capabilities.append(_signin(target, credentials, options))
    report.capabilities.append(_cache_channel(target, options))
    report.capabilities.append(_subscription_count(target, options))
    batch = _api(target, credentials, options, "POST", "batch_events", _batch(1, "wsdiag-caps"))
    report.capabilities.append(_route("batch events", batch, "POST /apps/ID/batch_events"))
    terminate = _api(
        target, credentials, options, "POST", "users/wsdiag-nobody/terminate_connections", "{}"
    )
    report.capabilities.append(
        _route("terminate connections", terminate, "POST /apps/ID/users/ID/terminate_connections")
    )
    channels = _api(target, credentials, options, "GET", "channels", None)
    report.capabilities.append(_route("channel list", channels, "GET /apps/ID/channels"))


def _connect(target: Target, options: CheckOptions) -> Any:
    from wsdiag.checks.websocket import open_pusher

    _, session = open_pusher(target.websocket, None, target.app_key, options)
    return session


def _wait(session: Any, timeout: float, match: Callable[[Any], Any]) -> Any:
    """The first event ``match`` returns something for (that something), or None at the deadline."""
    deadline = time.monotonic() + timeout
    while (event := session.next_event(deadline)) is not None:
        found = match(event)
        if found is not None:
            return found
    return None


def _client_events(target: Target, credentials: Credentials, options: CheckOptions) -> Capability:
    from wsdiag.channels.auth import LocalAuthorizer
    from wsdiag.checks.delivery import await_subscription
    from wsdiag.pusher.client import Closed, Message, ServerError

    channel = f"private-wsdiag-caps-{secrets.token_hex(4)}"
    sender = _connect(target, options)
    try:
        receiver = _connect(target, options)
    except BaseException:
        if sender is not None:
            sender.close()
        raise
    try:
        if sender is None or receiver is None:
            return Capability("client events", UNKNOWN, "could not open two connections")
        assert credentials.key and credentials.secret
        signer = LocalAuthorizer(credentials.key, credentials.secret)
        for session in (sender, receiver):
            session.subscribe(channel, auth=signer.authorize(session.socket_id, channel).auth)
            refused = await_subscription(session, channel, options.timeout)
            if refused is not None:
                return Capability("client events", UNKNOWN, f"no private channel: {refused[1]}")
        sender.send(json.dumps({"event": "client-wsdiag", "channel": channel, "data": {"n": 1}}))
        refused = _wait(
            sender,
            min(1.0, options.timeout),
            lambda e: e if isinstance(e, ServerError | Closed) else None,
        )
        if refused is not None:
            code = getattr(refused, "code", None)
            said = getattr(refused, "message", None) or getattr(refused, "reason", "")
            return Capability("client events", UNSUPPORTED, f"refused ({code} {said})".strip())
        got = _wait(
            receiver,
            options.timeout,
            lambda e: e if isinstance(e, Message) and e.event.event == "client-wsdiag" else None,
        )
        if got is None:
            return Capability("client events", UNKNOWN, "sent, not refused, never delivered")
        return Capability(
            "client events", SUPPORTED, "a client-wsdiag event reached the other socket"
        )
    finally:
        for session in (sender, receiver):
            if session is not None:
                session.close()


def _signin(target: Target, credentials: Credentials, options: CheckOptions) -> Capability:
    from wsdiag.channels.signin import LocalSigner
    from wsdiag.pusher.client import Closed, Message, ServerError
    from wsdiag.pusher.frames import signin_frame

    session = _connect(target, options)
    if session is None:
        return Capability("user sign-in", UNKNOWN, "could not connect")
    try:
        assert credentials.key and credentials.secret
        user = json.dumps({"id": "wsdiag"}, separators=(",", ":"))
        auth, data = LocalSigner(credentials.key, credentials.secret, user).sign_in(
            session.socket_id
        )
        session.send(signin_frame(auth, data))

        def answer(event: Any) -> Any:
            if isinstance(event, Message) and event.event.event == "pusher:signin_success":
                return Capability("user sign-in", SUPPORTED, "pusher:signin_success")
            if isinstance(event, ServerError):
                return Capability(
                    "user sign-in", UNSUPPORTED, f"pusher:error {event.code} {event.message}"
                )
            if isinstance(event, Closed):
                return Capability(
                    "user sign-in", UNSUPPORTED, f"closed {event.code} {event.reason}"
                )
            return None

        wait = min(options.timeout, 2.0)
        found = _wait(session, wait, answer)
        return found or Capability(
            "user sign-in",
            UNKNOWN,
            f"no answer to pusher:signin within {wait:g} s (soketi answers it only with user "
            "authentication on)",
        )
    finally:
        session.close()


def _cache_channel(target: Target, options: CheckOptions) -> Capability:
    from wsdiag.pusher.client import Message, Subscribed, SubscriptionFailed

    session = _connect(target, options)
    if session is None:
        return Capability("cache channels", UNKNOWN, "could not connect")
    channel = f"cache-wsdiag-{secrets.token_hex(4)}"
    subscribed = False
    try:
        session.subscribe(channel)

        def answer(event: Any) -> Any:
            nonlocal subscribed
            if isinstance(event, Subscribed):
                subscribed = True
            if isinstance(event, Message) and event.event.event == "pusher:cache_miss":
                return Capability(
                    "cache channels", SUPPORTED, "pusher:cache_miss on a fresh channel"
                )
            if isinstance(event, SubscriptionFailed):
                return Capability("cache channels", UNSUPPORTED, f"refused: {event.message}")
            return None

        found = _wait(session, min(options.timeout, 2.0), answer)
        if found is not None:
            return cast(Capability, found)
        if subscribed:
            return Capability(
                "cache channels",
                UNSUPPORTED,
                "subscribed as a plain public channel: no pusher:cache_miss came",
            )
        return Capability("cache channels", UNKNOWN, "no answer to the subscription")
    finally:
        session.close()


def _subscription_count(target: Target, options: CheckOptions) -> Capability:
    """``pusher_internal:subscription_count`` on a public channel (an app setting on Pusher)."""
    from wsdiag.pusher.client import Message

    session = _connect(target, options)
    if session is None:
        return Capability("subscription_count", UNKNOWN, "could not connect")
    try:
        session.subscribe(f"wsdiag-count-{secrets.token_hex(4)}")

        def answer(event: Any) -> Any:
            name = event.event.event if isinstance(event, Message) else None
            return event if name == "pusher_internal:subscription_count" else None

        found = _wait(session, min(options.timeout, 1.5), answer)
        if found is not None:
            return Capability("subscription_count", SUPPORTED, "pusher_internal:subscription_count")
        return Capability(
            "subscription_count",
            UNKNOWN,
            "none came on a public channel: off in the app's settings, or not supported",
        )
    finally:
        session.close()


def _route(name: str, reply: tuple[int, str] | None, what: str) -> Capability:
    if reply is None:
        return Capability(name, UNKNOWN, f"{what}: no reply")
    status, text = reply
    if status < 300:
        return Capability(name, SUPPORTED, f"{what}: {status}")
    return Capability(name, UNSUPPORTED, f"{what}: {status} {text[:80]}".strip())


def _api(
    target: Target,
    credentials: Credentials,
    options: CheckOptions,
    method: str,
    route: str,
    body: str | None,
) -> tuple[int, str] | None:
    """One signed API request: (status, body text), None when it could not be made."""
    from wsdiag.checks.api import embedded_error
    from wsdiag.httpapi import ApiError, api_request

    try:
        reply = api_request(
            target.api,
            credentials,
            method,
            f"/apps/{credentials.app_id}/{route}",
            body=body.encode() if body is not None else None,
            timeout=options.timeout,
            ca_bundle=options.ca_bundle,
            verify_tls=options.verify_tls,
            proxy=options.proxy,
        )
    except ApiError:
        return None
    carried = embedded_error(reply.json()) if reply.status == 200 else None
    return carried or reply.status, reply.text


def _batch(count: int, channel: str) -> str:
    batch = [{"channel": channel, "name": "wsdiag-caps", "data": "{}"} for _ in range(count)]
    return json.dumps({"batch": batch}, separators=(",", ":"))


# ---------------------------------------------------------------- limits


def _limits(
    report: ServerReport, target: Target, credentials: Credentials, options: CheckOptions
) -> None:
    channel = f"wsdiag-limits-{secrets.token_hex(4)}"

    def publish(body: str) -> tuple[int, str] | None:
        return _api(target, credentials, options, "POST", "events", body)

    def event_of(size: int) -> tuple[int, str] | None:
        data = json.dumps({"pad": "x" * max(0, size - 11)}, separators=(",", ":"))  # ≈ size bytes
        return publish(json.dumps({"name": "wsdiag-limit", "channels": [channel], "data": data}))

    def channels_of(count: int) -> tuple[int, str] | None:
        names = [f"{channel}-{i}" for i in range(count)]
        return publish(json.dumps({"name": "wsdiag-limit", "channels": names, "data": "{}"}))

    def batch_of(count: int) -> tuple[int, str] | None:
        return _api(target, credentials, options, "POST", "batch_events", _batch(count, channel))

    report.limits.append(
        _search("largest event (bytes of data)", event_of, 1_000, 1_048_576, "event_bytes")
    )
    report.limits.append(
        _search("channels per publish", channels_of, 1, 128, "channels_per_publish")
    )
    report.limits.append(_search("events per batch", batch_of, 1, 128, "events_per_batch"))
    report.limits.append(_member_info(target, credentials, options))
    report.limits.append(
        Limit(
            "presence members",
            None,
            "not measured",
            "finding it takes as many connections as the limit (Pusher: 100 members); "
            "`wsdiag fanout --sockets N` joins N",
        )
    )


def _member_info(target: Target, credentials: Credentials, options: CheckOptions) -> Limit:
    """The largest presence user_info a subscription is accepted with (one connection a try)."""
    from wsdiag.channels.auth import LocalAuthorizer
    from wsdiag.pusher.client import Closed, ServerError, Subscribed, SubscriptionFailed

    channel = f"presence-wsdiag-limits-{secrets.token_hex(4)}"
    assert credentials.key and credentials.secret

    def join(size: int) -> tuple[int, str] | None:
        session = _connect(target, options)
        if session is None:
            return None
        try:
            info = {"pad": "x" * max(0, size - 10)}  # ≈ size bytes of user_info JSON
            signer = LocalAuthorizer(
                credentials.key or "", credentials.secret or "", "wsdiag", info
            )
            auth = signer.authorize(session.socket_id, channel)
            session.subscribe(channel, auth=auth.auth, data=auth.channel_data)

            def answer(event: Any) -> Any:
                if isinstance(event, Subscribed):
                    return (200, "subscribed")
                if isinstance(event, SubscriptionFailed | ServerError):
                    return (400, str(event.message))
                if isinstance(event, Closed):
                    return (400, f"closed {event.code} {event.reason}")
                return None

            return cast("tuple[int, str] | None", _wait(session, options.timeout, answer))
        finally:
            session.close()

    found = _search("presence member info (bytes)", join, 100, 100_000, "member_info_bytes")
    if found.refused_with:
        found = replace(found, refused_with="the subscription refused")
    return found


def _search(
    name: str, attempt: Callable[[int], tuple[int, str] | None], low: int, high: int, known: str
) -> Limit:
    """The largest value ``attempt`` accepts between ``low`` and ``high`` (status < 300)."""
    first = attempt(low)
    if first is None or first[0] >= 300:
        why = "no reply" if first is None else f"HTTP {first[0]}"
        return Limit(name, None, "not measured", f"even {low:,} was refused ({why})")
    top = attempt(high)
    if top is not None and top[0] < 300:
        return Limit(
            name,
            high,
            "at least",
            f"{high:,} accepted, the search's ceiling; {KNOWN_LIMITS[known]}",
        )
    refused = f"HTTP {top[0]}" if top is not None else "no reply"
    good, bad = low, high
    while bad - good > max(1, good // 100):  # to within 1 %
        middle = (good + bad) // 2
        reply = attempt(middle)
        if reply is not None and reply[0] < 300:
            good = middle
        else:
            bad = middle
            refused = f"HTTP {reply[0]}" if reply is not None else "no reply"
    return Limit(name, good, "found", f"{KNOWN_LIMITS[known]}", refused)


# ---------------------------------------------------------------- origins


def _origin(target: Target, options: CheckOptions) -> str:
    from wsdiag.checks.websocket import open_pusher
    from wsdiag.models import ErrorKind, Handshake

    result, session = open_pusher(target.websocket, None, target.app_key, options)
    if session is not None:
        session.close()
        return "allowed"
    if result.kind is ErrorKind.PUSHER_ORIGIN_NOT_ALLOWED:
        return "refused (4009 Origin not allowed)"
    if isinstance(result.outcome, Handshake) and result.outcome.placeholder_key:
        return "allowed"
    return f"not decided: {result.summary}"
