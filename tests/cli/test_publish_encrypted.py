"""publish to private-encrypted- channels: encrypted as the server libraries do (issue 14).

Two witnesses: a real subscriber (``wsdiag tail`` on soketi, with the same master
key) decrypts what publish sent, and pusher-http-python, the official server
library, is the oracle for the format: both requests are captured, decrypted
with PyNaCl and compared. Without a usable key nothing is sent: a capturing
API server proves that no request arrived.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import IO, Any

import nacl.secret
import pusher
import pytest
from click.testing import CliRunner, Result

from tests.cli.tailing import tail_process
from tests.servers.http import serve
from tests.servers.soketi import Soketi
from wsdiag.cli import cli

ROOT = Path(__file__).resolve().parents[2]
MASTER_KEY = base64.b64encode(hashlib.sha256(b"wsdiag issue 14").digest()).decode()
OTHER_KEY = base64.b64encode(hashlib.sha256(b"another app").digest()).decode()
CHANNEL = "private-encrypted-x"
APP = ["--app-id", "1", "--key", "k", "--secret", "s"]


@dataclass
class CapturingApi:
    """A Pusher HTTP API on loopback that answers 200 {} and keeps every request."""

    port: int = 0
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (path, body)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


@contextmanager
def capturing_api() -> Iterator[CapturingApi]:
    api = CapturingApi()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            api.requests.append((self.path.split("?", 1)[0], json.loads(body)))
            self.send_response_only(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    with serve(Handler) as port:
        api.port = port
        yield api


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    clean: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith(("PUSHER_", "WSDIAG_", "GITHUB_"))
    }
    return CliRunner().invoke(cli, list(args), env={**clean, "COLUMNS": "160", **(env or {})})


def decrypt(channel: str, data: str, master_key: str = MASTER_KEY) -> tuple[bytes, str]:
    """``(nonce, plaintext)`` of an event's data, decrypted with PyNaCl directly."""
    sealed = json.loads(data)
    assert set(sealed) == {"nonce", "ciphertext"}, sealed
    nonce = base64.b64decode(sealed["nonce"], validate=True)
    ciphertext = base64.b64decode(sealed["ciphertext"], validate=True)
    shared = hashlib.sha256(channel.encode() + base64.b64decode(master_key)).digest()
    return nonce, nacl.secret.SecretBox(shared).decrypt(ciphertext, nonce).decode()


def official_client(target_port: int, master_key: str = MASTER_KEY) -> pusher.Pusher:
    return pusher.Pusher(
        app_id="1",
        key="k",
        secret="s",
        host="127.0.0.1",
        port=target_port,
        ssl=False,
        encryption_master_key_base64=master_key,
    )


# ------------------------------------------------------------------ the format


def test_publish_encrypts_as_pusher_http_python_does() -> None:
    plaintext = '{"p":3,"text":"caf\\u00e9 ☕"}'
    with capturing_api() as api:
        result = invoke(
            "publish",
            api.url,
            CHANNEL,
            "ev",
            plaintext,
            *APP,
            "--encryption-master-key",
            MASTER_KEY,
        )
        assert result.exit_code == 0, result.output
        official_client(api.port).trigger([CHANNEL], "ev", plaintext)
    (ours_path, ours), (theirs_path, theirs) = api.requests
    assert ours_path == theirs_path == "/apps/1/events"
    assert {k: v for k, v in ours.items() if k != "data"} == {"name": "ev", "channels": [CHANNEL]}
    assert {k: v for k, v in theirs.items() if k != "data"} == {"name": "ev", "channels": [CHANNEL]}
    our_nonce, our_plain = decrypt(CHANNEL, ours["data"])
    their_nonce, their_plain = decrypt(CHANNEL, theirs["data"])
    assert our_plain == their_plain == plaintext
    assert len(our_nonce) == len(their_nonce) == nacl.secret.SecretBox.NONCE_SIZE
    assert our_nonce != their_nonce  # a fresh random nonce per message
    assert plaintext not in json.dumps(ours)
    # Same shape, key order included ({"nonce", "ciphertext"}); the libraries differ only
    # in whitespace (pusher-http-python writes ", " and ": ", node and php compact).
    assert (
        list(json.loads(ours["data"]))
        == list(json.loads(theirs["data"]))
        == [
            "nonce",
            "ciphertext",
        ]
    )
    assert len(json.loads(ours["data"])["ciphertext"]) == len(
        json.loads(theirs["data"])["ciphertext"]
    )


def test_batch_lines_to_encrypted_channels_are_encrypted(tmp_path: Path) -> None:
    lines = [
        {"channel": CHANNEL, "data": {"n": 1}},
        {"channel": "plain", "data": {"n": 2}},
        {"channel": "private-encrypted-y", "data": "just text"},
        {"data": {"n": 4}},  # CHANNEL from the command line
    ]
    batch = tmp_path / "events.jsonl"
    batch.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    with capturing_api() as api:
        result = invoke(
            "publish",
            api.url,
            CHANNEL,
            "ev",
            "--batch",
            str(batch),
            *APP,
            "--encryption-master-key",
            MASTER_KEY,
            "--json",
        )
        assert result.exit_code == 0, result.output
        official_client(api.port).trigger_batch(
            [
                {"channel": line.get("channel", CHANNEL), "name": "ev", "data": _text(line)}
                for line in lines
            ]
        )
    (_, ours), (_, theirs) = api.requests
    for sent in (ours["batch"], theirs["batch"]):
        assert [e["channel"] for e in sent] == [CHANNEL, "plain", "private-encrypted-y", CHANNEL]
        assert json.loads(sent[1]["data"]) == {"n": 2}  # a plain channel's data left alone
        assert [decrypt(e["channel"], e["data"])[1] for e in (sent[0], sent[2], sent[3])] == [
            _text(lines[0]),
            "just text",
            _text(lines[3]),
        ]
    report = json.loads(result.stdout)["results"][0]
    assert report["details"]["encrypted"] == [CHANNEL, "private-encrypted-y"]


def _text(line: dict[str, Any]) -> str:
    data = line["data"]
    return data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))


def test_the_report_says_the_data_went_out_encrypted() -> None:
    with capturing_api() as api:
        result = invoke(
            "publish", api.url, CHANNEL, "ev", "{}", *APP, "--encryption-master-key", MASTER_KEY
        )
        plain = invoke("publish", api.url, "news", "ev", "{}", *APP, "--json")
    assert result.exit_code == 0, result.output
    assert f"encrypted: {CHANNEL}" in result.output
    assert "encrypted" not in json.loads(plain.stdout)["results"][0]["details"]


def test_the_size_limit_counts_the_data_as_sent() -> None:
    """7,700 bytes of plaintext fit Pusher's 10 KB; encrypted and base64-encoded they do not."""
    plaintext = json.dumps({"pad": "x" * 7_700})
    with capturing_api() as api:
        plain = invoke("publish", api.url, "news", "ev", plaintext, *APP)
        sealed = invoke(
            "publish",
            api.url,
            CHANNEL,
            "ev",
            plaintext,
            *APP,
            "--encryption-master-key",
            MASTER_KEY,
        )
        assert len(api.requests) == 1  # only the plain one went out
    assert plain.exit_code == 0, plain.output
    assert sealed.exit_code == 2, sealed.output
    assert "once encrypted" in sealed.output and "--no-size-limit" in sealed.output


# ------------------------------------------------------------------ where the key comes from


@pytest.mark.parametrize("source", ["environment", "env file", "profile"])
def test_the_master_key_setting(source: str, tmp_path: Path) -> None:
    env: dict[str, str] = {}
    extra: list[str] = []
    if source == "environment":
        env["PUSHER_ENCRYPTION_MASTER_KEY"] = MASTER_KEY
    elif source == "env file":
        (tmp_path / ".env").write_text(f"PUSHER_ENCRYPTION_MASTER_KEY={MASTER_KEY}\n")
        env["PUSHER_ENCRYPTION_MASTER_KEY"] = OTHER_KEY  # the env file named wins over the shell
        extra = ["--env-file", str(tmp_path / ".env")]
    else:
        config = tmp_path / "config.toml"
        config.write_text(f'[profiles.e2e]\nencryption_master_key = "{MASTER_KEY}"\n')
        config.chmod(0o600)
        extra = ["--config", str(config), "--profile", "e2e"]
    with capturing_api() as api:
        result = invoke("publish", api.url, CHANNEL, "ev", '{"p":3}', *APP, *extra, env=env)
    assert result.exit_code == 0, result.output
    ((_, body),) = api.requests
    assert decrypt(CHANNEL, body["data"])[1] == '{"p":3}'


def test_the_flag_wins_over_the_setting() -> None:
    with capturing_api() as api:
        result = invoke(
            "publish",
            api.url,
            CHANNEL,
            "ev",
            "{}",
            *APP,
            "--encryption-master-key",
            MASTER_KEY,
            env={"PUSHER_ENCRYPTION_MASTER_KEY": OTHER_KEY},
        )
    assert result.exit_code == 0, result.output
    assert decrypt(CHANNEL, api.requests[0][1]["data"])[1] == "{}"


# ------------------------------------------------------------------ nothing is sent


@pytest.mark.parametrize(
    ("args", "env", "said"),
    [
        ([CHANNEL, "ev", "{}"], {}, "private-encrypted-x is an encrypted channel"),
        (["news", "ev"], {}, "private-encrypted-x is an encrypted channel"),  # via --batch
        (
            [CHANNEL, "ev", "{}", "--encryption-master-key", "not base64!"],
            {},
            "--encryption-master-key: the encryption master key must be base64",
        ),
        (
            [CHANNEL, "ev", "{}"],
            {"PUSHER_ENCRYPTION_MASTER_KEY": base64.b64encode(b"16 bytes, short.").decode()},
            "environment PUSHER_ENCRYPTION_MASTER_KEY: the encryption master key must decode "
            "to 32 bytes, not 16",
        ),
        (
            [f"news,{CHANNEL}", "ev", "{}", "--encryption-master-key", MASTER_KEY],
            {},
            "private-encrypted-x is encrypted with a key of its own: publish to it alone",
        ),
    ],
    ids=["no key", "no key, batch", "not base64", "16 bytes", "beside another channel"],
)
def test_without_a_usable_key_nothing_is_sent(
    args: list[str], env: dict[str, str], said: str, tmp_path: Path
) -> None:
    if args[:2] == ["news", "ev"]:
        batch = tmp_path / "events.jsonl"
        batch.write_text(json.dumps({"channel": CHANNEL, "data": {}}) + "\n")
        args = [*args, "--batch", str(batch)]
    with capturing_api() as api:
        result = invoke("publish", api.url, *args, *APP, env=env)
    assert result.exit_code == 2, result.output
    assert said in " ".join(result.output.split()), result.output
    assert "nothing was sent" in result.output
    assert api.requests == []
    for value in (MASTER_KEY, *env.values()):
        assert value not in result.output


# ------------------------------------------------------------------ a real subscriber


@pytest.mark.soketi
def test_tail_with_the_same_key_decrypts_what_publish_sent(soketi: Soketi, tmp_path: Path) -> None:
    creds = ["--app-id", soketi.app_id, "--key", soketi.key, "--secret", soketi.secret]
    batch = tmp_path / "events.jsonl"
    batch.write_text(
        json.dumps({"channel": CHANNEL, "name": "b", "data": {"n": 1}})
        + "\n"
        + json.dumps({"channel": "private-encrypted-y", "name": "b", "data": "text"})
        + "\n"
    )
    channels = [CHANNEL, "private-encrypted-y"]
    with tail_process(
        soketi, channels, *creds, "--encryption-master-key", MASTER_KEY, "--count", "3"
    ) as tail:
        single = invoke(
            "publish",
            soketi.ws_url,
            CHANNEL,
            "ev",
            '{"p":3}',
            *creds,
            env={"PUSHER_ENCRYPTION_MASTER_KEY": MASTER_KEY},
        )
        batched = invoke(
            "publish",
            soketi.ws_url,
            "--batch",
            str(batch),
            *creds,
            "--encryption-master-key",
            MASTER_KEY,
        )
        out, err = tail.communicate(timeout=30)
    assert single.exit_code == 0, single.output
    assert batched.exit_code == 0, batched.output
    assert tail.returncode == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["channel"], e["event"], e["data"]) for e in events] == [
        (CHANNEL, "ev", {"p": 3}),
        (CHANNEL, "b", {"n": 1}),
        ("private-encrypted-y", "b", "text"),
    ]
    assert "warning" not in err.lower(), err  # no "does not decrypt", no "no ciphertext/nonce"


@pytest.mark.soketi
def test_a_subscriber_with_another_key_cannot_read_it(soketi: Soketi) -> None:
    """The data on the wire is really encrypted: the wrong key gets a warning, not the data."""
    creds = ["--app-id", soketi.app_id, "--key", soketi.key, "--secret", soketi.secret]
    with tail_process(
        soketi, [CHANNEL], *creds, "--encryption-master-key", OTHER_KEY, "--count", "1"
    ) as tail:
        result = invoke(
            "publish",
            soketi.ws_url,
            CHANNEL,
            "ev",
            '{"p":"hidden"}',
            *creds,
            "--encryption-master-key",
            MASTER_KEY,
        )
        assert result.exit_code == 0, result.output
        assert tail.stderr is not None
        said = _read_until(tail.stderr, "different encryption master key")
        tail.kill()
        out, err = tail.communicate(timeout=30)
    assert "different encryption master key" in said, said + err
    assert "hidden" not in out + said + err


def _read_until(stream: IO[str], words: str, within: float = 15) -> str:
    """What ``stream`` says up to the line with ``words`` (or its end, or ``within`` s)."""
    seen = ""
    deadline = time.monotonic() + within
    while words not in seen and time.monotonic() < deadline:
        line = stream.readline()
        if not line:
            break
        seen += line
    return seen
