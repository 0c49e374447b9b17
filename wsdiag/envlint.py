"""``wsdiag env-lint``: does a Laravel app's broadcasting configuration agree with itself?

A Laravel ``.env`` names the same server three times (issue 11):

- the publisher: ``REVERB_HOST/PORT/SCHEME`` (or ``PUSHER_*``), where the app sends events;
- the server: ``REVERB_SERVER_HOST/PORT/PATH``, what Reverb binds;
- the browser: ``VITE_REVERB_HOST/PORT/SCHEME`` (or ``VITE_PUSHER_*``), where pusher-js connects;

and the app key twice or more. The triples may differ for good reasons (a TLS
proxy on 443 in front of a server on 8080), and wrongly (https to a port that
speaks plain HTTP, a key the front end was built with that the server does not
know, ``localhost`` in a container). ``lint`` says which, each finding with its
cause and fix; a scheme is checked against the port for real (``probe``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Literal

from wsdiag.models import ErrorKind, Status
from wsdiag.records import record

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")
Speaks = Literal["tls", "plain", "unreachable"]
Probe = Callable[[str, int], Speaks]


@record
class Endpoint:
    """One of the three views: where it points, and the variables that said so."""

    role: str  # publisher, server, browser
    host: str | None
    port: int | None
    scheme: str | None  # http / https; None for the server (Reverb binds plain unless told)
    names: str  # "REVERB_HOST/PORT/SCHEME"

    @property
    def shown(self) -> str:
        scheme = f"{self.scheme}://" if self.scheme else ""
        return f"{scheme}{self.host or '?'}:{self.port or '?'}"


@record
class Finding:
    status: Status
    summary: str
    kind: ErrorKind | None = None
    cause: str | None = None
    fix: str | None = None


def broadcaster(values: Mapping[str, str]) -> str:
    """REVERB or PUSHER: BROADCAST_CONNECTION (or BROADCAST_DRIVER) when set, else what is set."""
    for name in ("BROADCAST_CONNECTION", "BROADCAST_DRIVER"):
        chosen = values.get(name, "").strip().lower()
        if chosen in ("reverb", "pusher"):
            return chosen.upper()
    reverb_only = values.get("REVERB_HOST") and not values.get("PUSHER_HOST")
    return (
        "REVERB"
        if reverb_only or (values.get("REVERB_APP_KEY") and not values.get("PUSHER_APP_KEY"))
        else "PUSHER"
    )


def endpoints(values: Mapping[str, str]) -> list[Endpoint]:
    """The views this configuration gives (a view none of whose variables is set is left out)."""
    family = broadcaster(values)
    found = []
    for role, prefix in (("publisher", family), ("browser", f"VITE_{family}")):
        host, port, scheme = (values.get(f"{prefix}_{p}") for p in ("HOST", "PORT", "SCHEME"))
        if host or port or scheme:
            found.append(
                Endpoint(
                    role,
                    host,
                    _port(port),
                    (scheme or "").lower() or None,
                    f"{prefix}_HOST/PORT/SCHEME",
                )
            )
    if family == "REVERB" and (
        values.get("REVERB_SERVER_HOST") or values.get("REVERB_SERVER_PORT")
    ):
        found.append(
            Endpoint(
                "server",
                values.get("REVERB_SERVER_HOST") or "0.0.0.0",
                _port(values.get("REVERB_SERVER_PORT")) or 8080,
                None,
                "REVERB_SERVER_HOST/PORT",
            )
        )
    return found


def lint(
    values: Mapping[str, str], probe: Probe | None = None, in_container: bool | None = None
) -> list[Finding]:
    """Every finding, the worst first.

    ``probe``: None leaves the schemes unchecked (``check``'s note runs without).
    """
    findings = _keys(values)
    views = {e.role: e for e in endpoints(values)}
    publisher, browser, server = views.get("publisher"), views.get("browser"), views.get("server")
    if publisher and browser:
        findings.append(_publisher_and_browser(publisher, browser))
    if publisher and server:
        findings.append(_publisher_and_server(publisher, server))
    container = _in_container(values) if in_container is None else in_container
    if publisher and publisher.host in LOCAL_HOSTS and container:
        findings.append(
            Finding(
                Status.WARN,
                f"{publisher.names.split('/')[0]}={publisher.host} in a container",
                ErrorKind.ENV_LOCALHOST,
                f"the app publishes to {publisher.host}, and this looks like a container (Sail, "
                "Docker): there localhost is the app's own container, not the server's",
                "use the server's service name (REVERB_HOST=reverb, PUSHER_HOST=soketi) or its "
                "address on the container network",
            )
        )
    if probe is not None:
        for view in (publisher, browser):
            if view and view.host and view.port and view.scheme in ("http", "https"):
                findings.append(_scheme(view, probe(_reachable_host(view.host), view.port)))
    order = {Status.FAIL: 0, Status.WARN: 1, Status.OK: 2, Status.SKIPPED: 3}
    return sorted(findings, key=lambda f: order[f.status])


def _keys(values: Mapping[str, str]) -> list[Finding]:
    names = ("PUSHER_APP_KEY", "REVERB_APP_KEY", "VITE_REVERB_APP_KEY", "VITE_PUSHER_APP_KEY",
             "MIX_PUSHER_APP_KEY")  # fmt: skip
    given = {n: values[n] for n in names if values.get(n)}
    mine = broadcaster(values)
    family = {n: v for n, v in given.items() if mine in n} or given
    if len(set(family.values())) <= 1:
        which = ", ".join(family) or "no key variable"
        return [Finding(Status.OK, f"one app key ({which})")] if family else []
    spelled = ", ".join(f"{n}={v}" for n, v in family.items())
    return [
        Finding(
            Status.FAIL,
            "the app key differs between variables",
            ErrorKind.ENV_MISMATCH,
            f"{spelled}: the browser connects with the key it was built with, the server knows "
            "its own; a key it does not know is refused with 4001",
            'give every key variable the same value (VITE_REVERB_APP_KEY="${REVERB_APP_KEY}"), '
            "then rebuild the front end (npm run build) so the new key is in it",
        )
    ]


def _publisher_and_browser(publisher: Endpoint, browser: Endpoint) -> Finding:
    same = (publisher.host, publisher.port, publisher.scheme) == (
        browser.host,
        browser.port,
        browser.scheme,
    )
    if same:
        return Finding(Status.OK, f"the app and the browser use the same server ({browser.shown})")
    behind_tls_proxy = (
        browser.scheme == "https" and browser.port in (443, None) and publisher.scheme == "http"
    )
    if behind_tls_proxy:
        return Finding(
            Status.OK,
            f"the browser uses {browser.shown}, the app {publisher.shown}: a TLS proxy in front "
            "of the server, as usual",
        )
    return Finding(
        Status.WARN,
        f"the browser uses {browser.shown}, the app {publisher.shown}",
        ErrorKind.ENV_MISMATCH,
        f"{browser.names} and {publisher.names} point at different places; that is right only "
        "when a proxy between them forwards one to the other",
        "make both name the same server, or check that the proxy forwards "
        f"{browser.shown} to {publisher.shown}",
    )


def _publisher_and_server(publisher: Endpoint, server: Endpoint) -> Finding:
    local = publisher.host in LOCAL_HOSTS
    if not local or publisher.port == server.port:
        return Finding(
            Status.OK, f"the app publishes to {publisher.shown}; the server binds {server.shown}"
        )
    return Finding(
        Status.WARN,
        f"the app publishes to {publisher.shown} but the server binds port {server.port}",
        ErrorKind.ENV_MISMATCH,
        f"{publisher.names} names this machine on port {publisher.port}, while "
        f"REVERB_SERVER_PORT={server.port}: nothing listens there unless a proxy does",
        f"set REVERB_PORT={server.port}, or check that a proxy on {publisher.port} forwards to it",
    )


def _scheme(view: Endpoint, speaks: Speaks) -> Finding:
    where = f"{view.host}:{view.port}"
    if speaks == "unreachable":
        return Finding(
            Status.WARN,
            f"{view.names}: {where} could not be reached to check its scheme",
            None,
            f"nothing answered on {where} from here",
            "run the check where the app or the browser runs, or start the server",
        )
    if view.scheme == "https" and speaks == "plain":
        return Finding(
            Status.FAIL,
            f"{view.names}: https to {where}, which speaks plain HTTP",
            ErrorKind.TLS_NOT_TLS,
            f"the scheme says TLS but {where} answers without it (Reverb and soketi serve plain "
            "WebSockets unless given a certificate)",
            f"use scheme http for {where}, or put the TLS proxy's port (443) in the port",
        )
    if view.scheme == "http" and speaks == "tls":
        return Finding(
            Status.FAIL,
            f"{view.names}: http to {where}, which speaks TLS",
            ErrorKind.WS_PLAIN_TO_TLS_PORT,
            f"the scheme says plain HTTP but {where} answers with TLS: a PUSHER_SCHEME=http with "
            "PUSHER_PORT=443 does this",
            f"use scheme https for {where}, or the server's own plain port",
        )
    return Finding(Status.OK, f"{view.names}: {view.scheme} matches what {where} speaks")


def _in_container(values: Mapping[str, str]) -> bool:
    return bool(values.get("LARAVEL_SAIL")) or any(
        os.path.exists(marker) for marker in ("/.dockerenv", "/run/.containerenv")
    )


def _reachable_host(host: str) -> str:
    return "127.0.0.1" if host == "0.0.0.0" else host


def _port(text: str | None) -> int | None:
    """A port number, or None for a value that is none (empty, not a number, out of range)."""
    if not text or not text.strip().isdigit():
        return None
    port = int(text)
    return port if 0 < port < 65536 else None
