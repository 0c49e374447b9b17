"""Hostile and wrong input: random text in every argument never gives a traceback.

The CLI runs in-process through ``wsdiag.cli.main`` (the real entry point with
its exit-code mapping). Every target points at loopback port 9, where nothing
listens, so an input that passes validation fails fast and locally instead of
reaching any network.
"""

from __future__ import annotations

import io
import math
import os
import unicodedata
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from wsdiag.cli import main
from wsdiag.pusher.signing import validate_channel_name, validate_event_name
from wsdiag.target import TargetError, parse_target

NOWHERE = "ws://127.0.0.1:9"
CREDENTIALS = ("--app-id", "12345", "--key", "app-key", "--secret", "hostile-secret")
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run(*args: str, home: Path) -> tuple[int, str, str]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("PUSHER_", "WSDIAG_", "GITHUB_"))
    }
    environ.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), COLUMNS="120")
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, environ, clear=True),
        redirect_stdout(out),
        redirect_stderr(err),
        pytest.raises(SystemExit) as exited,
    ):
        main(list(args))
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out.getvalue(), err.getvalue()


def assert_usage_error(code: int, out: str, err: str) -> None:
    context = f"exit {code}\n--- stdout\n{out}\n--- stderr\n{err}"
    assert code == 2, context
    assert "Traceback" not in out + err, context
    last = [line for line in err.splitlines() if line.strip()][-1]
    assert last.startswith("Error: "), context


def assert_no_traceback(code: int, out: str, err: str) -> None:
    context = f"exit {code}\n--- stdout\n{out}\n--- stderr\n{err}"
    assert code in (0, 1, 2), context
    assert "Traceback" not in out + err and "internal error" not in err, context


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


# --- targets ----------------------------------------------------------------------------------


@given(st.text(max_size=300))
def test_any_target_text_is_a_target_or_a_target_error(text: str) -> None:
    try:
        target = parse_target(text)
    except TargetError as exc:
        assert str(exc)
        return
    host = target.websocket.host
    assert host and not any(c.isspace() or unicodedata.category(c) == "Cc" for c in host)
    assert 1 <= target.websocket.port <= 65535


@given(
    scheme=st.sampled_from(["ws", "wss", "http", "https", "ftp", ""]),
    host=st.text(max_size=80),
    port=st.one_of(st.none(), st.integers(-10, 100_000), st.text(max_size=8)),
)
def test_random_urls_are_a_target_or_a_target_error(scheme: str, host: str, port: object) -> None:
    url = f"{scheme}://{host}" + ("" if port is None else f":{port}")
    try:
        target = parse_target(url)
    except TargetError:
        return
    assert 1 <= target.websocket.port <= 65535
    assert not any(unicodedata.category(c) == "Cc" for c in target.websocket.host)


def unusable(text: str) -> bool:
    """Text no host name, cluster name or URL may contain (surrounding blanks are forgiven)."""
    inner = text.strip()
    return any(c.isspace() or unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in inner)


@PROPERTY
@given(target=st.text(min_size=1, max_size=200).filter(unusable))
def test_cli_rejects_hostile_targets(home: Path, target: str) -> None:
    for command in ("check", "resolve", "connect"):
        # A dead resolver, in case a target slipped through: nothing may leave this machine.
        args = (command, target, "--resolver", "127.0.0.1:9", "--timeout", "0.2")
        assert_usage_error(*run(*args, home=home))


# --- option values ----------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "-1", "0", "0.05", "7", "1" * 400]),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
# The documented ranges (see --help): (integer only, lowest, highest, lowest excluded).
RANGES = {
    "--timeout": (False, 0.1, 120.0, False),
    "--max-latency-ms": (False, 0.0, float("inf"), True),
    "--pings": (True, 0, 1000, False),
    "--port": (True, 1, 65535, False),
    "--events": (True, 1, 100, False),
}


def in_range(option: str, text: str) -> bool:
    integer, low, high, open_low = RANGES[option]
    try:
        number = int(text) if integer else float(text)
    except ValueError:
        return False
    if not integer and not math.isfinite(number):
        return False
    return (low < number if open_low else low <= number) and number <= high


@PROPERTY
@given(option=st.sampled_from(sorted(RANGES)), value=NUMBERS)
def test_numbers_out_of_range_are_usage_errors(home: Path, option: str, value: str) -> None:
    args = ["check", NOWHERE, "--timeout", "0.2", "--pings", "1", option, value]
    if option == "--port":  # a port of its own would contradict the URL's
        args[1:2] = ["--host", "127.0.0.1"]
    code, out, err = run(*args, home=home)
    if in_range(option, value):
        assert_no_traceback(code, out, err)
        assert code != 2, f"{option} {value!r} is in range, yet refused:\n{err}"
    else:
        assert_usage_error(code, out, err)


@PROPERTY
@given(value=st.text(max_size=100))
def test_bad_resolver_is_a_usage_error_or_harmless(home: Path, value: str) -> None:
    # The target is an IP literal, so even a valid resolver is never asked.
    assert_no_traceback(
        *run("resolve", NOWHERE, "--resolver", value, "--timeout", "0.2", home=home)
    )


@PROPERTY
@given(
    option=st.sampled_from(
        ["--key", "--app-id", "--secret", "--fail-on", "--profile", "--env-file", "--ca-bundle"]
    ),
    value=st.text(max_size=200),
)
@example(option="--env-file", value="\x00")  # os.stat raises ValueError, not OSError
@example(option="--ca-bundle", value="/")
def test_any_text_in_check_options_never_tracebacks(home: Path, option: str, value: str) -> None:
    assert_no_traceback(*run("check", NOWHERE, option, value, "--timeout", "0.2", home=home))


@PROPERTY
@given(
    option=st.sampled_from(
        ["--event", "--user-id", "--user-info", "--auth-header", "--encryption-master-key"]
    ),
    value=st.text(max_size=200),
    channel=st.sampled_from(["news", "private-news", "presence-room", "private-encrypted-x"]),
)
def test_any_text_in_tail_options_never_tracebacks(
    home: Path, option: str, value: str, channel: str
) -> None:
    args = ("tail", NOWHERE, channel, *CREDENTIALS, "--timeout", "0.2", "--duration", "0.2")
    assert_no_traceback(*run(*args, option, value, home=home))


# --- names and payloads -----------------------------------------------------------------------


@PROPERTY
@given(channel=st.text(max_size=200), event=st.text(max_size=250), data=st.text(max_size=50))
def test_publish_validates_names_before_sending(
    home: Path, channel: str, event: str, data: str
) -> None:
    # "--" as a user would type it: names may start with "-"
    args = ("publish", *CREDENTIALS, "--timeout", "0.2", "--", NOWHERE, channel, event, data)
    code, out, err = run(*args, home=home)
    bad_channel = any(validate_channel_name(c) for c in channel.split(","))
    invalid = bad_channel or validate_event_name(event)
    if invalid or not channel or not event:
        assert_usage_error(code, out, err)
    elif data.startswith("@") or data == "-":  # a file or stdin: may rightly be a usage error
        assert_no_traceback(code, out, err)
    else:
        assert_no_traceback(code, out, err)
        assert code == 1, "valid input reaches port 9, which refuses"


@PROPERTY
@given(channel=st.text(max_size=200))
def test_tail_validates_channel_names(home: Path, channel: str) -> None:
    args = ("tail", "--key", "k", "--timeout", "0.2", "--duration", "0.2", "--", NOWHERE, channel)
    code, out, err = run(*args, home=home)
    if validate_channel_name(channel):
        assert_usage_error(code, out, err)
    else:
        assert_no_traceback(code, out, err)


def test_unwritable_junit_path_is_a_clear_error(home: Path) -> None:
    junit = str(home / "no" / "such" / "dir" / "report.xml")
    code, out, err = run("check", NOWHERE, "--junit", junit, "--timeout", "0.2", home=home)
    assert_no_traceback(code, out, err)
    assert code in (1, 2)
    assert "report.xml" in err
