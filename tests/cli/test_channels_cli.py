"""tail, publish and channels against a real soketi: events really flow, errors are explained."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

import pusher
import pytest
from click.testing import CliRunner, Result

from tests.cli.tailing import tail_process
from tests.servers.soketi import Soketi
from wsdiag.cli import cli

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.soketi


def creds(server: Soketi, secret: str | None = None) -> list[str]:
    return ["--app-id", server.app_id, "--key", server.key, "--secret", secret or server.secret]


def invoke(*args: str, stdin: str | None = None) -> Result:
    clean = {k: None for k in os.environ if k.startswith(("PUSHER_", "WSDIAG_", "GITHUB_"))}
    return CliRunner().invoke(cli, list(args), input=stdin, env={**clean, "COLUMNS": "160"})


def official_client(server: Soketi) -> pusher.Pusher:
    return pusher.Pusher(
        app_id=server.app_id,
        key=server.key,
        secret=server.secret,
        host=server.host,
        port=server.port,
        ssl=False,
    )


def lines_of(proc: subprocess.Popen[str]) -> list[dict[str, Any]]:
    out, _ = proc.communicate(timeout=30)
    return [json.loads(line) for line in out.splitlines()]


def test_tail_public_private_presence_and_publish(soketi: Soketi) -> None:
    channels = ["news", "private-orders", "presence-room"]
    with tail_process(soketi, channels, *creds(soketi), "--count", "3", "--duration", "20") as tail:
        for channel in ("news", "private-orders", "presence-room"):
            result = invoke(
                "publish",
                soketi.ws_url,
                channel,
                "greet",
                json.dumps({"to": channel}),
                *creds(soketi),
            )
            assert result.exit_code == 0, result.output
        events = lines_of(tail)
        assert tail.returncode == 0
    assert [(e["channel"], e["event"], e["data"]) for e in events] == [
        ("news", "greet", {"to": "news"}),
        ("private-orders", "greet", {"to": "private-orders"}),
        ("presence-room", "greet", {"to": "presence-room"}),
    ]
    assert all(e["received_at"].endswith("+00:00") for e in events)


def test_publish_data_from_file_and_stdin(soketi: Soketi, tmp_path: Path) -> None:
    payload = tmp_path / "data.json"
    payload.write_text('{"from":"file"}')
    with tail_process(soketi, ["feed"], *creds(soketi), "--count", "2", "--duration", "20") as tail:
        assert (
            invoke("publish", soketi.ws_url, "feed", "a", f"@{payload}", *creds(soketi)).exit_code
            == 0
        )
        assert (
            invoke(
                "publish", soketi.ws_url, "feed", "b", *creds(soketi), stdin='{"from":"stdin"}'
            ).exit_code
            == 0
        )
        events = lines_of(tail)
    assert [e["data"] for e in events] == [{"from": "file"}, {"from": "stdin"}]


def test_batch_publish_ten_per_request(soketi: Soketi, tmp_path: Path) -> None:
    batch = tmp_path / "events.jsonl"
    batch.write_text("\n".join(json.dumps({"data": {"n": n}}) for n in range(25)) + "\n")
    with tail_process(
        soketi, ["batched"], *creds(soketi), "--count", "25", "--duration", "20"
    ) as tail:
        result = invoke(
            "publish",
            soketi.ws_url,
            "batched",
            "tick",
            "--batch",
            str(batch),
            *creds(soketi),
            "--json",
        )
        events = lines_of(tail)
    assert result.exit_code == 0, result.output
    subjects = [r["subject"] for r in json.loads(result.stdout)["results"]]
    assert subjects == [
        "batch events 1-10 of 25",
        "batch events 11-20 of 25",
        "batch events 21-25 of 25",
    ]
    assert sorted(e["data"]["n"] for e in events) == list(range(25))


def test_channels_lists_occupied_and_presence_users(soketi: Soketi) -> None:
    with tail_process(
        soketi,
        ["presence-lobby", "occupied-one"],
        *creds(soketi),
        "--user-id",
        "u-42",
        "--duration",
        "20",
    ):
        listing = invoke("channels", soketi.ws_url, *creds(soketi), "--json")
        users = invoke(
            "channels", soketi.ws_url, "presence-lobby", "--users", *creds(soketi), "--json"
        )
        one = invoke(
            "channels",
            soketi.ws_url,
            "occupied-one",
            "--info",
            "subscription_count",
            *creds(soketi),
            "--json",
        )
    assert listing.exit_code == 0, listing.output
    reply = json.loads(listing.stdout)["results"][0]["details"]["reply"]
    assert {"presence-lobby", "occupied-one"} <= set(reply["channels"])
    user_reply = json.loads(users.stdout)["results"][0]["details"]["reply"]
    assert user_reply["users"] == [{"id": "u-42"}]
    assert json.loads(one.stdout)["results"][0]["details"]["reply"]["occupied"] is True


def test_wrong_secret_is_explained_without_leaking_it(soketi: Soketi) -> None:
    secret = "wrong-secret-0x5eed"
    result = invoke("publish", soketi.ws_url, "ch", "ev", "{}", *creds(soketi, secret), "--json")
    assert result.exit_code == 1
    api = json.loads(result.stdout)["results"][0]
    assert api["kind"] == "api_401"
    assert api["details"]["string_to_sign"].startswith("POST\n/apps/12345/events\n")
    assert secret not in result.output
    assert api["details"]["secret"] == "wro…"


def test_invalid_input_sends_nothing() -> None:
    # a port nobody listens on: exit 2 proves wsdiag refused before any connection
    for args in (
        ["bad channel!", "ev", "{}"],
        ["ch", "pusher:internal", "{}"],
        ["ch", "ev", "x" * 10241],
    ):
        result = invoke(
            "publish", "ws://127.0.0.1:9", *args, "--app-id", "1", "--key", "k", "--secret", "s"
        )
        assert result.exit_code == 2, result.output
        assert "nothing was sent" in result.output


def test_check_end_to_end_with_credentials(soketi: Soketi) -> None:
    result = invoke("check", soketi.ws_url, *creds(soketi), "--events", "4", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    stages = {r["stage"]: r for r in document["results"]}
    assert stages["api"]["status"] == "ok"
    assert stages["subscribe"]["status"] == "ok"
    delivery = stages["delivery"]
    assert delivery["status"] == "ok"
    assert delivery["details"]["received"] == 4
    assert delivery["details"]["min"] <= delivery["details"]["p95"]


def test_check_with_a_wrong_secret_fails_on_the_api(soketi: Soketi) -> None:
    result = invoke("check", soketi.ws_url, *creds(soketi, "nope-nope"), "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    first = document["results"][document["first_failure"]]
    assert (first["stage"], first["kind"]) == ("api", "api_401")


def test_max_latency_threshold_fails_the_run(soketi: Soketi) -> None:
    result = invoke(
        "check", soketi.ws_url, "--key", soketi.key, "--max-latency-ms", "0.0001", "--json"
    )
    assert result.exit_code == 1
    kinds = [r["kind"] for r in json.loads(result.stdout)["results"]]
    assert "latency_exceeded" in kinds


def test_burst_of_ten_thousand_events_arrives_complete(soketi: Soketi) -> None:
    total = 10_000
    with tail_process(
        soketi, ["burst"], *creds(soketi), "--count", str(total), "--duration", "120"
    ) as tail:
        client = official_client(soketi)

        def send(start: int) -> None:
            for first in range(start, total, 40):
                client.trigger_batch(
                    [
                        {"channel": "burst", "name": "n", "data": json.dumps({"n": n})}
                        for n in range(first, min(first + 10, total))
                    ]
                )

        senders = [threading.Thread(target=send, args=(offset,)) for offset in (0, 10, 20, 30)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=120)
        events = lines_of(tail)
    assert tail.returncode == 0
    numbers = [e["data"]["n"] for e in events]
    assert len(numbers) == total
    assert sorted(numbers) == list(range(total))


@pytest.mark.parametrize("option", ["--auth-endpoint", "--user-auth-endpoint"])
@pytest.mark.parametrize(
    "url", ["https://app:abc/auth", "https://app:99999/auth", "https://:443/auth", "ftp://app/x"]
)
def test_an_unusable_endpoint_url_is_a_usage_error(option: str, url: str) -> None:
    """Said in one line before anything is sent; it used to end as an internal error."""
    result = CliRunner().invoke(
        cli, ["tail", "ws://127.0.0.1:9", "private-x", "--key", "k", option, url]
    )
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {option}" in result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
