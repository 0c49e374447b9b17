"""The client configuration that works from here, as a snippet to paste (``check --client``).

Pure code: the runner hands over what the check found (the WebSocket path that
connected, whether pusher-js's HTTP fallback did, the ``activityTimeout`` a
soak advised) and gets the options pusher-js or Laravel Echo needs, in their
own names, and the JavaScript to paste. Nothing works from here: no snippet.
"""

from __future__ import annotations

import json

from wsdiag.models import ClientConfig
from wsdiag.records import record
from wsdiag.target import Endpoint, Target

CLIENTS = ("pusher-js", "laravel-echo")
KEY_PLACEHOLDER = "YOUR_APP_KEY"


@record
class PathFacts:
    """What the check found, as the client configuration needs it."""

    target: Target
    websocket: Endpoint | None  # the first WebSocket path that connected
    fallback_connected: bool  # pusher-js's HTTP fallback reached the handshake
    activity_timeout_s: int | None = None  # a soak's advice; None: the server's value is fine


def client_config(facts: PathFacts, client: str) -> ClientConfig | None:
    options = client_options(facts)
    if options is None:
        return None
    key = facts.target.key or KEY_PLACEHOLDER
    return ClientConfig(client, tuple(options.items()), snippet(client, key, options))


def client_options(facts: PathFacts) -> dict[str, object] | None:
    """pusher-js's options, in the order a reader expects them; None when nothing connects."""
    target, path = facts.target, facts.websocket
    if path is None and not facts.fallback_connected:
        return None
    options: dict[str, object] = {}
    if target.fallback is not None:  # a Pusher cluster: its name says every host
        options["cluster"] = target.cluster
        if path is not None:
            # with forceTLS pusher-js never tries ws:// on 80; without it, it tries it first
            options["forceTLS"] = path.tls
    else:
        served = path or target.websocket
        # pusher-js 8 refuses to start without a cluster; with wsHost it names only the
        # HTTP fallback's host, which enabledTransports below switches off.
        options["cluster"] = target.cluster or "mt1"
        options["wsHost"] = served.host
        options["wsPort"] = served.port
        options["wssPort"] = served.port
        if served.path:
            options["wsPath"] = served.path
        options["forceTLS"] = served.tls
        if facts.fallback_connected:  # this server serves the fallback itself: point it there
            options["httpHost"] = served.host
            options["httpPort"] = served.port
            options["httpsPort"] = served.port
        else:
            options["enabledTransports"] = ["ws", "wss"]
    if facts.activity_timeout_s is not None:
        options["activityTimeout"] = facts.activity_timeout_s * 1000  # milliseconds
    return options


def snippet(client: str, key: str, options: dict[str, object]) -> str:
    """The JavaScript to paste: ``new Pusher(…)`` or ``new Echo(…)``."""
    if client == "laravel-echo":
        fields = {"broadcaster": "pusher", "key": key, **options}
        return f"new Echo({_object(fields)})"
    return f"new Pusher({_js(key)}, {_object(options)})"


def _object(fields: dict[str, object]) -> str:
    lines = [f"  {name}: {_js(value)}," for name, value in fields.items()]
    return "{\n" + "\n".join(lines) + "\n}"


def _js(value: object) -> str:
    """A JavaScript literal: strings in single quotes, as pusher-js's documentation writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + json.dumps(value)[1:-1].replace("'", "\\'") + "'"
    if isinstance(value, list):
        return "[" + ", ".join(_js(item) for item in value) + "]"
    return str(value)
