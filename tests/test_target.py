"""Target parsing: clusters, URLs, flags and Laravel's PUSHER_* environment."""

from __future__ import annotations

import pytest

from wsdiag.target import PLACEHOLDER_KEY, Endpoint, TargetError, parse_target


def test_public_cluster_hosts() -> None:
    target = parse_target("mt1")
    assert target.websocket == Endpoint("ws-mt1.pusher.com", 443, True)
    assert target.alternates == (Endpoint("ws-mt1.pusher.com", 80, False),)
    assert target.api == Endpoint("api-mt1.pusher.com", 443, True)
    assert target.fallback == Endpoint("sockjs-mt1.pusher.com", 443, True)
    assert target.hosts == ("ws-mt1.pusher.com", "api-mt1.pusher.com", "sockjs-mt1.pusher.com")
    assert target.is_public_cluster
    assert target.notes == ()


def test_unknown_cluster_is_allowed_with_a_note() -> None:
    target = parse_target("acme-dedicated")
    assert target.websocket.host == "ws-acme-dedicated.pusher.com"
    assert not target.is_public_cluster
    assert "not a public Pusher cluster" in target.notes[0]


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("wss://soketi.example.com", Endpoint("soketi.example.com", 443, True)),
        ("ws://127.0.0.1:6001", Endpoint("127.0.0.1", 6001, False)),
        ("https://reverb.test:8080/", Endpoint("reverb.test", 8080, True)),
        ("ws://[::1]:6001", Endpoint("::1", 6001, False)),
    ],
)
def test_url_targets(url: str, endpoint: Endpoint) -> None:
    target = parse_target(url)
    assert target.websocket == endpoint
    assert target.api == endpoint
    assert target.self_hosted
    assert target.alternates == ()


def test_key_defaults_to_placeholder() -> None:
    assert parse_target("eu").app_key == PLACEHOLDER_KEY
    assert parse_target("eu", key="abc").app_key == "abc"


def test_laravel_environment() -> None:
    env = {
        "PUSHER_HOST": "ws.example.org",
        "PUSHER_PORT": "6001",
        "PUSHER_SCHEME": "http",
        "PUSHER_APP_KEY": "k1",
    }
    target = parse_target(None, env=env)
    assert target.websocket == Endpoint("ws.example.org", 6001, False)
    assert target.key == "k1"


def test_flags_win_over_environment() -> None:
    env = {"PUSHER_HOST": "env.example", "PUSHER_PORT": "6001", "PUSHER_APP_KEY": "envkey"}
    target = parse_target(None, host="flag.example", port=7000, tls=True, key="flagkey", env=env)
    assert target.websocket == Endpoint("flag.example", 7000, True)
    assert target.key == "flagkey"


def test_cluster_from_environment() -> None:
    assert parse_target(None, env={"PUSHER_APP_CLUSTER": "ap2"}).cluster == "ap2"


@pytest.mark.parametrize(
    ("target", "kwargs", "message"),
    [
        (None, {}, "no target"),
        ("ftp://x", {}, "scheme must be"),
        ("ws://", {}, "has no host"),
        ("ws://host:99999", {}, "not a valid URL"),
        ("not a cluster!", {}, "neither a cluster name"),
        ("wss://h:443", {"tls": False}, "--tls/--no-tls"),
        ("ws://h:80", {"port": 81}, "--port says 81"),
        ("mt1", {"host": "x"}, "not both"),
        (None, {"host": "a b"}, "not a host name"),
    ],
)
def test_bad_targets_explain_themselves(target: str | None, kwargs: dict, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        parse_target(target, **kwargs)


def test_bad_port_in_environment() -> None:
    with pytest.raises(TargetError, match="PUSHER_PORT"):
        parse_target(None, env={"PUSHER_HOST": "h", "PUSHER_PORT": "http"})
