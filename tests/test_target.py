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
        ("ws://h/app/k1", {"key": "k2"}, "names the key 'k1'.*--key says 'k2'"),
        ("ws://h/app/%0A", {}, "not an app key"),
    ],
)
def test_bad_targets_explain_themselves(target: str | None, kwargs: dict, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        parse_target(target, **kwargs)


def test_bad_port_in_environment() -> None:
    with pytest.raises(TargetError, match="PUSHER_PORT"):
        parse_target(None, env={"PUSHER_HOST": "h", "PUSHER_PORT": "http"})


# ---- URL paths (issue 9, defect 11) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "path", "key"),
    [
        ("ws://h:6001", "", None),
        ("ws://h:6001/", "", None),
        ("ws://h:6001/custom/prefix", "/custom/prefix", None),
        ("ws://h:6001/custom/prefix/", "/custom/prefix", None),
        ("ws://h:6001/app/app-key", "", "app-key"),
        ("ws://h:6001/app/app-key/", "", "app-key"),
        ("ws://h:6001/custom/prefix/app/app-key", "/custom/prefix", "app-key"),
        ("wss://h/ws/app/app-key?protocol=7&client=js&version=8.6.0&flash=false", "/ws", "app-key"),
        ("ws://h:6001/app", "", None),  # Pusher's path without a key: not a prefix
        ("ws://h:6001/app/x/y", "/app/x/y", None),  # not /app/KEY at the end: all prefix
        ("ws://h:6001/a%20b/app/k%2Fey", "/a%20b", "k/ey"),
        ("ws://h:6001/a b/ü", "/a%20b/%C3%BC", None),  # what cannot go on a request line
    ],
)
def test_url_path_is_prefix_and_key(url: str, path: str, key: str | None) -> None:
    target = parse_target(url)
    assert target.websocket.path == path
    assert target.api.path == path
    assert target.key == key
    assert target.label == target.websocket.url
    assert target.websocket.url.endswith(path or str(target.websocket.port))


def test_a_key_in_the_url_wins_over_the_environment_with_a_note() -> None:
    target = parse_target("ws://h/app/k1", env={"PUSHER_APP_KEY": "k2"})
    assert target.key == "k1"
    assert "PUSHER_APP_KEY is ignored" in target.notes[0]
    assert parse_target("ws://h/app/k1", key="k1").key == "k1"  # the same key twice is fine
    assert parse_target("ws://h/x", env={"PUSHER_APP_KEY": "k2"}).key == "k2"


def test_endpoint_url_is_where_a_client_points() -> None:
    assert Endpoint("h", 6001, False, "/p").url == "ws://h:6001/p"
    assert Endpoint("::1", 443, True).url == "wss://[::1]:443"
    assert str(Endpoint("h", 6001, False, "/p")) == "h:6001"  # reach and tls rows: no path


def test_a_pusher_url_is_its_cluster() -> None:
    """A URL copied from a browser talking to Pusher: the cluster, its API host, this path."""
    target = parse_target("wss://ws-eu.pusher.com/app/abc123?protocol=7&client=js")
    assert target.cluster == "eu"
    assert not target.self_hosted
    assert target.key == "abc123"
    assert target.websocket == Endpoint("ws-eu.pusher.com", 443, True)
    assert target.alternates == (Endpoint("ws-eu.pusher.com", 80, False),)
    assert target.api == Endpoint("api-eu.pusher.com", 443, True)
    assert target.label == "wss://ws-eu.pusher.com:443"


@pytest.mark.parametrize(
    ("host", "self_hosted"),
    [
        ("ws-mt1.pusher.com", False),
        ("WS-MT1.PUSHER.COM.", False),
        ("ws.pusherapp.com", False),
        ("127.0.0.1", True),
        ("soketi.example.com", True),
        ("pusher.com.example.org", True),
        ("notpusher.com", True),
    ],
)
def test_self_hosted_is_anything_but_pushers_hosts(host: str, self_hosted: bool) -> None:
    assert Endpoint(host, 443, True).self_hosted is self_hosted


# ---- scheme and port that contradict each other (issue 9, defect 6) ----------------------------


def test_laravel_http_scheme_on_443_is_named() -> None:
    env = {"PUSHER_HOST": "ws.example.org", "PUSHER_PORT": "443", "PUSHER_SCHEME": "http"}
    target = parse_target(None, env=env)
    assert target.websocket == Endpoint("ws.example.org", 443, False)  # tested as configured
    [note] = target.notes
    assert note.startswith("PUSHER_SCHEME=http with PUSHER_PORT=443:")
    assert "wss://" in note and "PUSHER_SCHEME=https" in note


@pytest.mark.parametrize(
    ("url", "words"),
    [("ws://h:443", "ws:// on port 443"), ("wss://h:80", "wss:// on port 80")],
)
def test_scheme_against_the_ports_convention_is_named(url: str, words: str) -> None:
    [note] = parse_target(url).notes
    assert note.startswith(words)


@pytest.mark.parametrize("url", ["ws://h:6001", "wss://h", "ws://h", "wss://h:443", "ws://h:80"])
def test_conventional_pairs_have_no_note(url: str) -> None:
    assert parse_target(url).notes == ()
