"""What to test: a Pusher cluster or a self-hosted Pusher-compatible server.

Pure code (no I/O): turns the TARGET argument, the ``--host/--port/--tls``
flags and Laravel's ``PUSHER_*`` environment variables into a ``Target``.
Flags win over the environment; the TARGET argument wins over both.

A URL's path is the server's path prefix, as pusher-js's ``wsPath``
(``ws://host:6001/custom/prefix`` requests ``/custom/prefix/app/KEY``); a path
ending in ``/app/KEY`` also names the key, so a URL copied from a browser's
network tab works as it is (issue 9, defect 11).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import field, replace
from urllib.parse import quote, unquote, urlsplit

from wsdiag.records import record

PUBLIC_CLUSTERS: dict[str, str] = {
    "mt1": "N. Virginia",
    "us2": "Ohio",
    "us3": "Oregon",
    "eu": "Ireland",
    "ap1": "Singapore",
    "ap2": "Mumbai",
    "ap3": "Tokyo",
    "ap4": "Sydney",
    "sa1": "São Paulo",
}

# Cluster names are DNS labels; dedicated clusters use names of their own.
_CLUSTER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,40}[a-z0-9])?$")
# LDH labels (underscores too: they appear in internal names), at most 63 characters each.
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
_HOST_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
# Placeholder key for a check without --key: Pusher answers it with 4001,
# which proves every layer up to the Pusher service works.
PLACEHOLDER_KEY = "wsdiag-no-key"
# Pusher's own hosts: ws-CLUSTER.pusher.com today, ws.pusherapp.com in old clients.
_PUSHER_DOMAINS = ("pusher.com", "pusherapp.com")
_CLUSTER_HOST = re.compile(r"^ws-([a-z0-9](?:[a-z0-9-]{0,40}[a-z0-9])?)\.pusher\.com\.?$", re.I)
# The Pusher WebSocket path (after any prefix): /app/KEY, the key one path segment.
_APP_PATH = re.compile(r"^(?P<prefix>.*?)/app(?:/(?P<key>[^/]+))?$")
# What may stay unescaped in a path prefix: RFC 3986 pchar and "/" (and "%" of escapes).
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


class TargetError(ValueError):
    """The target cannot be understood; the message says what to type instead."""


@record
class Endpoint:
    """One host and port spoken to with or without TLS."""

    host: str
    port: int
    tls: bool
    # The server's path prefix (pusher-js wsPath): "" or "/custom/prefix", no trailing "/".
    path: str = ""

    @property
    def scheme(self) -> str:
        return "wss" if self.tls else "ws"

    @property
    def url(self) -> str:
        """``wss://host:port/prefix``: where a client is pointed, without ``/app/KEY``."""
        return f"{self.scheme}://{self}{self.path}"

    @property
    def is_ip_literal(self) -> bool:
        return is_ip_literal(self.host)

    @property
    def self_hosted(self) -> bool:
        """Not one of Pusher's own hosts: the server's app config, not a cluster, holds the keys."""
        return not is_pusher_host(self.host)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@record
class Target:
    """Every host and port wsdiag should look at for one Pusher app.

    ``websocket`` is the path a client uses first; ``alternates`` are the
    other paths worth probing when it is blocked (``ws://…:80`` for a
    cluster). ``api`` is the HTTP API, ``fallback`` pusher-js's HTTP
    fallback host (clusters only).
    """

    label: str
    websocket: Endpoint
    api: Endpoint
    cluster: str | None = None
    fallback: Endpoint | None = None
    alternates: tuple[Endpoint, ...] = ()
    key: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_public_cluster(self) -> bool:
        return self.cluster in PUBLIC_CLUSTERS

    @property
    def self_hosted(self) -> bool:
        return self.cluster is None and self.websocket.self_hosted

    @property
    def app_key(self) -> str:
        return self.key or PLACEHOLDER_KEY

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every distinct host name, in the order they matter (WebSocket first)."""
        ordered = [self.websocket.host, self.api.host]
        if self.fallback:
            ordered.append(self.fallback.host)
        ordered += [e.host for e in self.alternates]
        return tuple(dict.fromkeys(ordered))

    @property
    def websocket_paths(self) -> tuple[Endpoint, ...]:
        return (self.websocket, *self.alternates)


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_pusher_host(host: str) -> bool:
    name = host.lower().rstrip(".")
    return any(name == d or name.endswith("." + d) for d in _PUSHER_DOMAINS)


def cluster_target(cluster: str, key: str | None = None) -> Target:
    name = cluster.strip().lower()
    if not _CLUSTER_NAME.match(name):
        raise TargetError(
            f"{cluster!r} is neither a cluster name (like mt1, eu, ap2) nor a URL "
            "(like wss://ws.example.com:443)"
        )
    notes: tuple[str, ...] = ()
    if name not in PUBLIC_CLUSTERS:
        notes = (
            f"{name!r} is not a public Pusher cluster ({', '.join(PUBLIC_CLUSTERS)}); "
            "testing it as a dedicated cluster",
        )
    return Target(
        label=name,
        cluster=name,
        websocket=Endpoint(f"ws-{name}.pusher.com", 443, True),
        alternates=(Endpoint(f"ws-{name}.pusher.com", 80, False),),
        api=Endpoint(f"api-{name}.pusher.com", 443, True),
        fallback=Endpoint(f"sockjs-{name}.pusher.com", 443, True),
        key=key,
        notes=notes,
    )


def server_target(
    host: str,
    port: int | None,
    tls: bool,
    key: str | None = None,
    path: str = "",
    notes: tuple[str, ...] = (),
) -> Target:
    """A self-hosted server (soketi, Reverb…): WebSocket and HTTP API share host, port and path."""
    host = host.strip().strip("[]")
    if not _valid_host(host):
        raise TargetError(f"{host!r} is not a host name or IP address")
    if port is None:
        port = 443 if tls else 80
    _check_port(port)
    endpoint = Endpoint(host, port, tls, path)
    return Target(label=endpoint.url, websocket=endpoint, api=endpoint, key=key, notes=notes)


def parse_target(
    target: str | None,
    *,
    host: str | None = None,
    port: int | None = None,
    tls: bool | None = None,
    key: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Target:
    """Build the Target from the argument, flags and ``PUSHER_*`` environment."""
    env = env or {}
    env_key = env.get("PUSHER_APP_KEY") or None
    if target:
        if "://" in target:
            return _url_target(target, port=port, tls=tls, key=key, env_key=env_key)
        if host:
            raise TargetError("give either a TARGET or --host, not both")
        return cluster_target(target, key or env_key)
    key = key or env_key
    # Where the scheme and port came from, to name them in a note about the pair.
    sources = {"scheme": "--tls" if tls else "--no-tls", "port": f"--port {port}"}
    host = host or env.get("PUSHER_HOST") or None
    if host:
        if port is None and env.get("PUSHER_PORT"):
            port = _port_from_text(env["PUSHER_PORT"], "PUSHER_PORT")
            sources["port"] = f"PUSHER_PORT={port}"
        if tls is None:
            scheme = env.get("PUSHER_SCHEME", "").lower()
            tls = scheme != "http" if scheme else (port != 80 if port else True)
            sources["scheme"] = f"PUSHER_SCHEME={scheme}" if scheme else "the port's default scheme"
        notes = _scheme_port_notes(tls, port, f"{sources['scheme']} with {sources['port']}")
        return server_target(host, port, tls, key, notes=notes)
    cluster = env.get("PUSHER_APP_CLUSTER")
    if cluster:
        return cluster_target(cluster, key)
    raise TargetError(
        "no target: give a cluster (wsdiag check mt1), a URL (wsdiag check wss://host:443), "
        "--host, or set PUSHER_APP_CLUSTER / PUSHER_HOST"
    )


def _valid_host(host: str) -> bool:
    """An IP literal or a DNS name (IDN allowed), so nothing odd reaches a resolver or socket."""
    if is_ip_literal(host.split("%", 1)[0]):  # fe80::1%eth0 carries a zone
        return True
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return len(ascii_host) <= 253 and _HOST_NAME.match(ascii_host) is not None


def _url_target(
    url: str, *, port: int | None, tls: bool | None, key: str | None, env_key: str | None
) -> Target:
    # urlsplit silently drops tabs and newlines inside a URL; a pasted URL with
    # control characters is a mistake to show, not to repair behind the user's back.
    if any(ord(c) < 32 or ord(c) == 127 for c in url.strip()):
        raise TargetError(f"{url!r} contains control characters")
    try:
        parts = urlsplit(url.strip())
        url_port = parts.port
    except ValueError as exc:
        raise TargetError(f"{url!r} is not a valid URL: {exc}") from None
    if url_port is not None:
        _check_port(url_port)
    schemes = {"wss": True, "https": True, "ws": False, "http": False}
    if parts.scheme.lower() not in schemes:
        raise TargetError(f"{url!r}: the scheme must be wss://, ws://, https:// or http://")
    if not parts.hostname:
        raise TargetError(f"{url!r} has no host")
    url_tls = schemes[parts.scheme.lower()]
    if tls is not None and tls != url_tls:
        raise TargetError(f"{url!r} says {parts.scheme}:// but --tls/--no-tls says otherwise")
    if port is not None and url_port is not None and port != url_port:
        raise TargetError(f"{url!r} says port {url_port} but --port says {port}")
    prefix, url_key = _split_path(url, parts.path)
    notes: list[str] = []
    if url_key is not None:
        # The URL names the key: a different --key is a contradiction to resolve, not to
        # guess at (either one may be the typo); the environment is only a default.
        if key is not None and key != url_key:
            raise TargetError(
                f"{url!r} names the key {url_key!r} (its /app/KEY path) but --key says "
                f"{key!r}: give one of them"
            )
        if key is None and env_key is not None and env_key != url_key:
            notes.append(f"the key {url_key!r} comes from the URL; PUSHER_APP_KEY is ignored")
    key = url_key or key or env_key
    port = url_port or port
    notes += _scheme_port_notes(url_tls, port, f"{parts.scheme.lower()}:// on port {port}")
    cluster = _CLUSTER_HOST.match(parts.hostname)
    if cluster:
        return _cluster_url_target(cluster.group(1).lower(), port, url_tls, prefix, key, notes)
    return server_target(parts.hostname, port, url_tls, key, prefix, tuple(notes))


def _cluster_url_target(
    cluster: str, port: int | None, tls: bool, prefix: str, key: str | None, notes: list[str]
) -> Target:
    """``wss://ws-mt1.pusher.com/app/KEY?…`` (pasted from a browser): the mt1 cluster, this path.

    The cluster's HTTP API and fallback hosts come with it, so the API stage asks
    api-mt1.pusher.com, not the WebSocket host; the cluster's other WebSocket path
    stays as the alternate.
    """
    base = cluster_target(cluster, key)
    port = port or (443 if tls else 80)
    websocket = replace(base.websocket, port=port, tls=tls, path=prefix)
    alternates = tuple(
        replace(e, path=prefix)
        for e in base.websocket_paths
        if (e.port, e.tls) != (websocket.port, websocket.tls)
    )
    return replace(
        base,
        label=websocket.url,
        websocket=websocket,
        alternates=alternates,
        notes=(*base.notes, *notes),
    )


def _split_path(url: str, path: str) -> tuple[str, str | None]:
    """``(prefix, key)`` of a URL path: ``/custom/prefix/app/KEY`` → ``("/custom/prefix", "KEY")``.

    A bare ``/app`` at the end is the Pusher path without its key, not part of the
    prefix (no server serves ``/app/app/KEY``). The prefix is kept as typed, with
    only what cannot go on a request line (spaces, non-ASCII) percent-encoded.
    """
    path = path.rstrip("/")
    key = None
    match = _APP_PATH.match(path)
    if match:
        path, raw_key = match.group("prefix").rstrip("/"), match.group("key")
        if raw_key is not None:
            key = unquote(raw_key)
            if not key.strip() or any(ord(c) < 32 or ord(c) == 127 for c in key):
                raise TargetError(f"{url!r}: {raw_key!r} in /app/KEY is not an app key")
    return quote(path, safe=_PATH_SAFE), key


def _scheme_port_notes(tls: bool, port: int | None, said: str) -> tuple[str, ...]:
    """A scheme that contradicts the port's convention: the classic .env mix-up, said up front."""
    if not tls and port == 443:
        return (
            f"{said}: 443 is the HTTPS port, and a TLS server there refuses plain ws:// — "
            "if the check fails, use wss:// (Laravel: PUSHER_SCHEME=https)",
        )
    if tls and port == 80:
        return (
            f"{said}: 80 is the plain-HTTP port, and a TLS handshake there usually fails — "
            "if the check fails, use ws:// or port 443",
        )
    return ()


def _port_from_text(text: str, name: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise TargetError(f"{name}={text!r} is not a port number") from None
    _check_port(port)
    return port


def _check_port(port: int) -> None:
    if not 1 <= port <= 65535:
        raise TargetError(f"port {port} is out of range (1-65535)")


def masked_url(url: str) -> str:
    """The URL as it may be shown: a password in it is replaced by ***."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    userinfo, at, hostpart = rest.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{hostpart}"
