"""Ctrl-C at every stage prints what was measured and exits 130; a closed pipe ends quietly."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from tests.faults.harness import start_wsdiag
from tests.servers.dns import dns_server
from tests.servers.http_api import ApiReply, http_api
from tests.servers.netns import firewalled_host
from tests.servers.pusher_script import Script, channel_event, established, scripted_server
from tests.servers.tls import NAME, tls_server

PATIENT = "30"  # every step would wait this long: only Ctrl-C can end the run early
CREDENTIALS = ["--app-id", "12345", "--key", "app-key", "--secret", "signal-secret"]


Ready = Callable[[subprocess.Popen[str]], bool]


def interrupt(args: list[str], home: Path, ready: Ready) -> tuple[int, str, str, float]:
    """Start wsdiag, wait until ``ready`` says it is inside the stage, then press Ctrl-C.

    Waiting for the stage's own sign (the server saw the query, the handshake, the
    request) instead of sleeping a fixed time: a slow machine cannot make the signal
    arrive before the stage began, or after it ended (issue 14).
    """
    process = start_wsdiag(*args, home=home)
    deadline = time.monotonic() + 20
    while not ready(process):
        assert process.poll() is None, f"wsdiag ended before Ctrl-C: {process.communicate()}"
        assert time.monotonic() < deadline, "wsdiag never reached the stage"
        time.sleep(0.02)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"wsdiag did not stop within 10 s of Ctrl-C\n{out}\n{err}")
    return process.returncode, out, err, time.monotonic() - sent


def syn_sent_to(port: int) -> Ready:
    """The process is waiting for an answer to its SYN to ``port`` (a DROP firewall)."""

    def ready(process: subprocess.Popen[str]) -> bool:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{process.pid}/net/tcp").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[2].endswith(f":{port:04X}") and fields[3] == "02":  # SYN_SENT
                    return True
        return False

    return ready


Scenario = Callable[[Path], AbstractContextManager[tuple[list[str], Ready]]]


@contextmanager
def silent_dns(tmp_path: Path) -> Iterator[tuple[list[str], Ready]]:
    with dns_server({"slow.wsdiag.test": "silent"}) as dns:
        args = ["check", "wss://slow.wsdiag.test", "--resolver", f"127.0.0.1:{dns.address[1]}"]
        yield args, lambda _: bool(dns.queries)


@contextmanager
def filtered_port(tmp_path: Path) -> Iterator[tuple[list[str], Ready]]:
    with firewalled_host([6001], {6001: "drop"}) as host:
        yield ["check", f"ws://{host.ipv4}:6001"], syn_sent_to(6001)


@contextmanager
def silent_tls(tmp_path: Path) -> Iterator[tuple[list[str], Ready]]:
    with (
        tls_server(tmp_path, "silent") as server,
        dns_server({NAME: {"A": [("127.0.0.1", 60)]}}) as dns,
    ):
        args = [
            "check",
            f"wss://{NAME}:{server.port}",
            "--ca-bundle",
            server.ca_bundle,
            "--resolver",
            f"127.0.0.1:{dns.address[1]}",
        ]
        yield args, lambda _: bool(server.hellos)


@contextmanager
def silent_upgrade(tmp_path: Path) -> Iterator[tuple[list[str], Ready]]:
    with scripted_server(Script(silent=True)) as server:
        args = ["check", f"ws://127.0.0.1:{server.port}", "--key", "app-key"]
        yield args, lambda _: bool(server.requests)


@contextmanager
def unanswered_pings(tmp_path: Path) -> Iterator[tuple[list[str], Ready]]:
    with scripted_server(Script(actions=[established()], answer_pings=False)) as server:
        args = ["check", f"ws://127.0.0.1:{server.port}", "--key", "app-key"]
        yield args, lambda _: any("pusher:ping" in m for m in server.received)


@contextmanager
def slow_api(tmp_path: Path) -> Iterator[tuple[list[str], Ready]]:
    with http_api(ApiReply(200, "{}", delay_s=30)) as server:
        args = ["publish", f"ws://127.0.0.1:{server.port}", "news", "tick", "{}", *CREDENTIALS]
        yield args, lambda _: bool(server.requests)


STAGES: dict[str, tuple[Scenario, str | None]] = {  # the stage that was running, if it shows
    "resolve": (silent_dns, None),
    "reach": (filtered_port, "resolve"),
    "tls": (silent_tls, "reach"),
    "websocket": (silent_upgrade, "reach"),
    "ping": (unanswered_pings, "websocket"),
    "api": (slow_api, None),
}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_ctrl_c_prints_the_partial_report_and_exits_130(tmp_path: Path, stage: str) -> None:
    scenario, finished_stage = STAGES[stage]
    if stage == "reach":
        pytest.importorskip("tests.servers.netns").require_netns()
    with scenario(tmp_path) as (args, ready):
        code, out, err, stopping = interrupt(
            [*args, "--timeout", PATIENT, "--json"], tmp_path, ready
        )
    context = f"exit {code} after {stopping:.2f} s\n--- stdout\n{out}\n--- stderr\n{err}"
    assert code == 130, context
    assert stopping < 2, context
    assert "Traceback" not in err, context
    report = json.loads(out)
    assert report["interrupted"] is True
    assert report["exit_code"] == 130
    if finished_stage is not None:
        done = {r["stage"] for r in report["results"]}
        assert finished_stage in done, f"what was measured before Ctrl-C is missing\n{context}"


def test_ctrl_c_in_the_console_says_interrupted(tmp_path: Path) -> None:
    with silent_upgrade(tmp_path) as (args, ready):
        code, out, err, _ = interrupt([*args, "--timeout", PATIENT], tmp_path, ready)
    assert code == 130
    assert "reach" in out  # the table of what finished
    assert "interrupted" in (out + err).lower()


def test_ctrl_c_ends_tail_with_its_summary(tmp_path: Path) -> None:
    with scripted_server(Script(actions=[established()])) as server:
        args = ["tail", f"ws://127.0.0.1:{server.port}", "news", "--key", "app-key", "--json"]
        subscribed = lambda _: any("pusher:subscribe" in m for m in server.received)  # noqa: E731
        code, out, err, stopping = interrupt(args, tmp_path, subscribed)
    assert code == 130, err
    assert stopping < 2
    assert out == ""  # NDJSON stdout carries events only
    assert "event(s) in" in err
    assert "Traceback" not in err


def test_tail_json_into_head_exits_quietly(tmp_path: Path) -> None:
    """`wsdiag tail --json | head -1`: the reader leaves after one line; no noise, no hang."""
    events = [channel_event("news", "tick", {"n": n}) for n in range(5000)]
    with scripted_server(Script(actions=[established()], after_subscribe=events)) as server:
        wsdiag = start_wsdiag(
            "tail",
            f"ws://127.0.0.1:{server.port}",
            "news",
            "--key",
            "app-key",
            "--json",
            "--duration",
            "20",
            home=tmp_path,
        )
        head = subprocess.Popen(["head", "-1"], stdin=wsdiag.stdout, stdout=subprocess.PIPE)
        assert wsdiag.stdout is not None
        wsdiag.stdout.close()  # head alone holds the pipe now, as in a shell
        first, _ = head.communicate(timeout=10)
        _, err = wsdiag.communicate(timeout=10)
    assert json.loads(first)["data"] == {"n": 0}
    assert wsdiag.returncode == 0, err
    assert "Traceback" not in err and "Broken pipe" not in err and "Exception" not in err


def test_sigterm_ends_tail_like_ctrl_c(tmp_path: Path) -> None:
    """issue 14: `kill` (docker stop, a CI timeout) gets the summary and exit 143, not a
    silent death; every event received before it was printed."""
    script = Script(actions=[established()], after_subscribe=[channel_event("c", "e", {"n": 1})])
    with scripted_server(script) as server:
        url = f"ws://127.0.0.1:{server.port}"
        process = start_wsdiag("tail", url, "c", "--key", "k", "--json", home=tmp_path)
        assert process.stderr is not None
        deadline = time.monotonic() + 10
        seen = ""
        while "subscribed" not in seen and time.monotonic() < deadline:
            seen += process.stderr.readline()
        assert process.stdout is not None
        first = process.stdout.readline()  # the event after the subscription, printed
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 143, err
    assert json.loads(first)["data"] == {"n": 1}
    assert "1 event(s)" in err  # the summary
