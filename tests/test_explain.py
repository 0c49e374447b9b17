"""wsdiag explain: every kind, code and status has an answer; unknown input is a usage error.

Expected words and titles are written out here, not read back from the tables
they test: RFC 6455's list, pusher-js's close actions, the kinds the fault
matrix says a report carries.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.faults.matrix import BY_ID
from wsdiag.cli import cli
from wsdiag.explain import explain, kind_text
from wsdiag.models import ErrorKind
from wsdiag.pusher.codes import known_codes


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["explain", *args], env={"COLUMNS": "80"})
    return result.exit_code, result.output


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_error_kind_is_explained(kind: ErrorKind) -> None:
    title, meaning, fix = kind_text(kind)
    assert title and meaning and fix
    found = explain(kind.value)
    assert found is not None and found.topic == f"error kind {kind.value}"
    assert found.kind is kind


@pytest.mark.parametrize(
    ("topic", "words"),
    [
        ("4001", "cluster"),
        ("1006", "proxy"),
        ("401", "signature"),
        ("413", "10 KB"),
        ("TCP_FILTERED", "firewall"),
        ("1014", "gateway"),
        ("1015", "wsdiag tls"),
    ],
)
def test_lookups(topic: str, words: str) -> None:
    found = explain(topic)
    assert found is not None
    assert words in f"{found.meaning} {found.fix}"


# RFC 6455 section 7.4.1 and IANA's registry (1012-1014), in wsdiag's words.
RFC_6455 = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1004: "reserved",
    1005: "no status",
    1006: "abnormal closure",
    1007: "invalid payload data",
    1008: "policy violation",
    1009: "message too big",
    1010: "mandatory extension",
    1011: "server error",
    1012: "service restart",
    1013: "try again later",
    1014: "bad gateway",
    1015: "TLS handshake failed",
}


@pytest.mark.parametrize(("code", "title"), RFC_6455.items())
def test_every_rfc_6455_code_is_known(code: int, title: str) -> None:
    assert code in known_codes()
    found = explain(str(code))
    assert found is not None
    assert (found.topic, found.title) == (f"close code {code}", title)


@pytest.mark.parametrize(
    ("code", "title"),
    [
        (1016, "reserved"),
        (2999, "reserved"),
        (3000, "library code"),
        (3999, "library code"),
        (4050, "connection refused"),
        (4400, "application code"),
        (4999, "application code"),
    ],
)
def test_close_code_ranges(code: int, title: str) -> None:
    found = explain(str(code))
    assert found is not None and found.title == title


# What pusher-js 8 does after each close code (src/core/connection/protocol/protocol.ts,
# getCloseAction, and connection_manager.ts: no action means retry in 1 s).
PUSHER_JS = {
    1000: "reconnect after a pause of 1 s or more, growing with each attempt",
    1003: "reconnect after a pause of 1 s or more, growing with each attempt",
    3999: "reconnect after a pause of 1 s or more, growing with each attempt",
    4000: "reconnect at once over TLS, wss://",
    4001: "not reconnect until the cause is fixed",
    4099: "not reconnect until the cause is fixed",
    4100: "reconnect after a pause of 1 s or more, growing with each attempt",
    4199: "reconnect after a pause of 1 s or more, growing with each attempt",
    4200: "reconnect immediately",
    4201: "reconnect immediately",
    4299: "reconnect immediately",
    4301: "not reconnect until the cause is fixed",
    4400: "not reconnect until the cause is fixed",
}


@pytest.mark.parametrize(("code", "should"), PUSHER_JS.items())
def test_a_close_code_says_what_a_client_should_do(code: int, should: str) -> None:
    found = explain(str(code))
    assert found is not None
    assert found.fix.endswith(f" (a client should: {should})")


def test_4201_reads_reconnect_immediately() -> None:
    code, output = run("4201")
    assert code == 0
    assert output == (
        "close code 4201: pong not received\n"
        "  meaning: the server closed the connection: the client did not answer pings in\n"
        "           time\n"
        "  fix:     check that nothing on the path (proxy, load balancer) stalls or kills\n"
        "           quiet connections (a client should: reconnect immediately)\n"
        "  kind:    pusher_reconnect (how a report names it)\n"
    )


def test_429_is_rate_limiting() -> None:
    found = explain("429")
    assert found is not None
    assert (found.topic, found.title) == ("HTTP API status 429", "rate limited")
    assert "does not document" not in found.meaning
    assert '429 "Too many requests."' in found.meaning  # soketi's words
    assert "SOKETI_DEFAULT_APP_MAX_BACKEND_EVENTS_PER_SEC" in found.fix
    # The kind it names is the one a report of a 429 carries.
    assert found.kind is BY_ID["api.429"].kind


@pytest.mark.parametrize(
    ("status", "title", "kind"),
    [
        (400, "bad request", ErrorKind.API_BAD_REQUEST),
        (418, "unexpected status", ErrorKind.API_UNEXPECTED_STATUS),
        (502, "bad gateway", ErrorKind.API_SERVER_ERROR),
        (599, "server error", ErrorKind.API_SERVER_ERROR),
    ],
)
def test_http_statuses(status: int, title: str, kind: ErrorKind) -> None:
    found = explain(str(status))
    assert found is not None
    assert (found.title, found.kind) == (title, kind)


def test_json_for_one_topic() -> None:
    code, output = run("4201", "--json")
    assert code == 0
    document = json.loads(output)
    assert document == {
        "type": "close_code",
        "value": "4201",
        "topic": "close code 4201",
        "title": "pong not received",
        "meaning": "the server closed the connection: the client did not answer pings in time",
        "fix": "check that nothing on the path (proxy, load balancer) stalls or kills quiet "
        "connections (a client should: reconnect immediately)",
        "kind": "pusher_reconnect",
        "reconnect": "immediately",
    }
    document = json.loads(run("tcp_filtered", "--json")[1])
    assert (document["type"], document["kind"], document["reconnect"]) == (
        "error_kind",
        "tcp_filtered",
        None,
    )


def test_without_a_topic_lists_what_it_knows() -> None:
    code, output = run()
    assert code == 0
    lines = output.splitlines()
    assert lines[0] == "Close codes (wsdiag explain CODE):"
    for line in (
        "  1014  bad gateway",
        "  1015  TLS handshake failed",
        "  4201  pong not received",
        "  4400-4999  application code",
        "  429  rate limited",
    ):
        assert line in lines, line
    listed = {line.split()[0] for line in lines if line.startswith("  ")}
    assert {kind.value for kind in ErrorKind} <= listed
    assert {str(code) for code in RFC_6455} <= listed


def test_the_listing_as_json() -> None:
    code, output = run("--json")
    assert code == 0
    document = json.loads(output)
    assert list(document) == ["close_codes", "close_code_ranges", "http_statuses", "error_kinds"]
    assert [e["value"] for e in document["error_kinds"]] == [k.value for k in ErrorKind]
    assert {str(c) for c in RFC_6455} <= {e["value"] for e in document["close_codes"]}
    [rate_limited] = [e for e in document["http_statuses"] if e["value"] == "429"]
    assert rate_limited["title"] == "rate limited"
    assert all(e["meaning"] and e["fix"] for entries in document.values() for e in entries)


@pytest.mark.parametrize("args", [["99"], ["70000"], ["no_such_kind"], [""], ["99", "--json"]])
def test_cli_unknown_topic_is_a_usage_error(args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["explain", *args])
    assert result.exit_code == 2
    assert "is not a close code" in result.output
    assert "`wsdiag explain` lists them all" in result.output
