"""tail's connection life against the scripted server: reconnect rules, keep-alive, bad frames."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.harness import user_environment
from tests.servers.pusher_script import (
    Script,
    ScriptedServer,
    channel_event,
    close,
    established,
    scripted_server,
)
from wsdiag.channels.encryption import nacl_available
from wsdiag.channels.stream import Observed, TailEvent
from wsdiag.channels.tail import TailOptions, TailSession
from wsdiag.checks import CheckOptions
from wsdiag.target import server_target


@contextmanager
def tail(
    scripts: list[Script], channels: tuple[str, ...] = ("c",), **options: object
) -> Iterator[tuple[TailSession, list[TailEvent], ScriptedServer]]:
    seen: list[TailEvent] = []
    with scripted_server(scripts) as server:
        target = server_target("127.0.0.1", server.port, False, key="k")
        tail_options = TailOptions(channels=channels, check=CheckOptions(timeout=2), **options)  # type: ignore[arg-type]
        session = TailSession(target, tail_options, seen.append)
        yield session, seen, server


def run_in_background(session: TailSession) -> threading.Thread:
    thread = threading.Thread(target=session.run, daemon=True)
    thread.start()
    return thread


def states(seen: list[TailEvent]) -> list[str | None]:
    return [e.state for e in seen if e.kind is Observed.STATE]


def subscribes(server: ScriptedServer) -> int:
    return sum('"pusher:subscribe"' in text for text in server.received)


def test_4200_reconnects_at_once_and_resubscribes() -> None:
    first = Script(
        actions=[established()], after_subscribe=[channel_event("c", "e", {"n": 1}), close(4200)]
    )
    second = Script(actions=[established()], after_subscribe=[channel_event("c", "e", {"n": 2})])
    with tail([first, second], count=2, duration=10) as (session, seen, server):
        started = time.monotonic()
        summary = session.run()
    assert summary.total == 2 and summary.reconnects == 1
    assert [e.data for e in seen if e.kind is Observed.EVENT] == [{"n": 1}, {"n": 2}]
    assert subscribes(server) == 2  # the channel was subscribed again
    assert time.monotonic() - started < 3  # 42xx: no backoff
    assert any(e.code == 4200 for e in seen)


def test_a_ping_from_the_server_is_answered() -> None:
    ping = ("text", json.dumps({"event": "pusher:ping", "data": {}}))
    script = Script(
        actions=[established()], after_subscribe=[ping, ("sleep", 0.3), channel_event("c", "e", {})]
    )
    with tail([script], count=1, duration=5) as (session, _, server):
        summary = session.run()
    assert summary.total == 1
    assert any('"pusher:pong"' in text for text in server.received)


def test_4100_backs_off_before_reconnecting() -> None:
    first = Script(actions=[established(), close(4100, "over capacity")])
    second = Script(actions=[established()], after_subscribe=[channel_event("c", "e", {})])
    with tail([first, second], count=1, duration=10) as (session, seen, _):
        summary = session.run()
    connects = [e.received_at for e in seen if e.state == "connecting"]
    assert summary.reconnects == 1
    assert connects[1] - connects[0] >= 1.0
    assert "reconnecting" in states(seen)


def test_4001_gives_up_with_the_explanation() -> None:
    script = Script(
        actions=[
            (
                "text",
                json.dumps({"event": "pusher:error", "data": {"code": 4001, "message": "no app"}}),
            )
        ]
    )
    with tail([script], duration=10) as (session, seen, _):
        started = time.monotonic()
        summary = session.run()
    assert summary.failed and summary.fatal and "4001" in summary.fatal
    assert time.monotonic() - started < 5
    assert states(seen)[-1] == "failed"
    # A self-hosted server (the scripted one on loopback): every line gives the app-config
    # fix, none the Pusher cluster one (issue 9 #12; the final line used to give both).
    fixes = [e.fix for e in seen if e.fix]
    assert fixes and all("SOKETI_DEFAULT_APP_KEY" in fix for fix in fixes)
    assert not any("PUSHER_APP_CLUSTER" in fix for fix in fixes)


def test_1006_in_the_middle_reconnects() -> None:
    first = Script(
        actions=[established()],
        # a pause before the RST: a reset discards data the client has not read yet
        after_subscribe=[channel_event("c", "e", {"n": 1}), ("sleep", 0.3), ("drop", None)],
    )
    second = Script(actions=[established()], after_subscribe=[channel_event("c", "e", {"n": 2})])
    with tail([first, second], count=2, duration=10) as (session, seen, _):
        summary = session.run()
    assert summary.total == 2 and summary.reconnects == 1
    assert any(e.code == 1006 for e in seen)


def test_missing_pong_means_a_dead_connection() -> None:
    silent = Script(actions=[established(activity_timeout=1)], answer_pings=False)
    healthy = Script(actions=[established()], after_subscribe=[channel_event("c", "e", {})])
    with tail([silent, healthy], count=1, duration=15, pong_timeout=0.5) as (session, seen, server):
        summary = session.run()
    assert summary.reconnects == 1
    assert any('"pusher:ping"' in text for text in server.received)
    assert any(e.code == 4201 for e in seen)


def test_a_bad_frame_is_a_warning_not_a_disconnect() -> None:
    script = Script(
        actions=[established()],
        after_subscribe=[("text", "garbage"), ("binary", b"\x01"), channel_event("c", "e", {})],
    )
    with tail([script], count=1, duration=10) as (session, seen, _):
        summary = session.run()
    assert summary.total == 1 and summary.reconnects == 0
    assert sum(e.kind is Observed.WARNING for e in seen) == 2


def test_event_filter_and_duration() -> None:
    script = Script(
        actions=[established()],
        after_subscribe=[
            channel_event("c", "order-created", {}),
            channel_event("c", "ping-ish", {}),
            channel_event("c", "order-paid", {}),
        ],
    )
    with tail([script], duration=1.5, event_patterns=("order-*",)) as (session, seen, _):
        started = time.monotonic()
        summary = session.run()
    assert [e.event for e in seen if e.kind is Observed.EVENT] == ["order-created", "order-paid"]
    assert 1.4 <= time.monotonic() - started < 4
    assert summary.per_event[("c", "order-created")] == 1


def test_stop_from_another_thread() -> None:
    with tail([Script(actions=[established()])], duration=30) as (session, _, _):
        thread = run_in_background(session)
        time.sleep(0.5)
        session.stop()
        thread.join(timeout=3)
        assert not thread.is_alive()


def test_private_channel_without_auth_is_a_subscription_error() -> None:
    script = Script(actions=[established()])
    with tail([script], channels=("private-x", "public"), duration=1) as (session, _, server):
        summary = session.run()
    assert summary.failed_subscriptions == ["private-x"]
    assert subscribes(server) == 1


def sealed_as_servers_seal(channel: str, plaintext: str, master_key: bytes) -> dict[str, str]:
    """An encrypted payload made with PyNaCl as Pusher's server libraries make it, not with
    wsdiag's own encrypt_payload (which would agree with its decrypting when both are wrong):
    secretbox keyed with SHA-256(channel name + master key), PUSHER-PROTOCOL.md."""
    import hashlib

    import nacl.secret
    import nacl.utils

    box = nacl.secret.SecretBox(hashlib.sha256(channel.encode() + master_key).digest())
    nonce = nacl.utils.random(nacl.secret.SecretBox.NONCE_SIZE)
    ciphertext = box.encrypt(plaintext.encode(), nonce).ciphertext
    return {
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }


@pytest.mark.skipif(not nacl_available(), reason="PyNaCl is not installed")
def test_encrypted_channel_is_decrypted() -> None:
    key = bytes(range(32))
    channel = "private-encrypted-secret"
    sealed = sealed_as_servers_seal(channel, json.dumps({"card": "hidden"}), key)
    frame = ("text", json.dumps({"event": "e", "channel": channel, "data": json.dumps(sealed)}))
    script = Script(actions=[established()], after_subscribe=[frame, frame])
    from wsdiag.channels.auth import LocalAuthorizer

    with tail(
        [script],
        channels=(channel,),
        count=1,
        duration=5,
        master_key=key,
        authorizer=LocalAuthorizer("k", "s"),
    ) as (session, seen, _):
        session.run()
    assert [e.data for e in seen if e.kind is Observed.EVENT] == [{"card": "hidden"}]
    wrong = bytes(32)
    with tail(
        [script],
        channels=(channel,),
        duration=1.5,
        master_key=wrong,
        authorizer=LocalAuthorizer("k", "s"),
    ) as (session, seen, _):
        session.run()
    assert any(
        e.kind is Observed.WARNING and "different encryption master key" in (e.message or "")
        for e in seen
    )


def test_memory_stays_flat_over_a_long_run(tmp_path: Path) -> None:
    """60,000 events through `tail --json`: the process does not grow with the count.

    The summary keeps counters, never events; RSS is read from /proc after 10,000
    and after 60,000 events and may not grow by more than a few MB (allocator noise).
    """

    def rss_kb(pid: int) -> int:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    total = 60_000
    events = [channel_event("long", "e", {"n": n}) for n in range(total)]
    with scripted_server(Script(actions=[established()], after_subscribe=events)) as server:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wsdiag",
                "tail",
                f"ws://127.0.0.1:{server.port}",
                "long",
                "--key",
                "k",
                "--json",
                "--count",
                str(total),
                "--duration",
                "120",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=user_environment(tmp_path),
        )
        assert process.stdout is not None
        seen, early = 0, 0
        for _ in process.stdout:
            seen += 1
            if seen == 10_000:
                early = rss_kb(process.pid)
            if seen == total - 1:
                late = rss_kb(process.pid)
        process.wait(timeout=30)
    assert seen == total
    assert late - early < 8_000, f"RSS grew from {early} kB to {late} kB"
    print(f"RSS {early} kB after 10,000 events, {late} kB after {total:,}")
