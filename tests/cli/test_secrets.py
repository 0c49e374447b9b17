"""Secrets never leave wsdiag: every command, success and failure, every output format, --debug.

A distinctive secret, auth token and encryption master key are used everywhere;
after each run, its stdout, stderr and every file it wrote are searched for
them, for the per-channel keys derived from the master key, and for any
64-hex-digit HMAC (channel auth and HTTP API signatures).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import Outcome, run_wsdiag
from tests.servers.auth_endpoint import AuthApp, auth_endpoint
from tests.servers.relay import refused_port
from tests.servers.soketi import Soketi, start_soketi

SECRET = "zq7-SECRET-do-not-print-4f2a9c"
TOKEN = "tok-BEARER-do-not-print-81d3e6"
KEY, APP_ID = "secrets-test-key", "24680"
MASTER_RAW = b"wsdiag-MASTER-KEY-do-not-print!!"  # 32 bytes, readable if printed raw
MASTER_KEY = base64.b64encode(MASTER_RAW).decode()
ENCRYPTED = "private-encrypted-room"
SHARED = hashlib.sha256(ENCRYPTED.encode() + MASTER_RAW).digest()  # what tail and publish derive
SIGNATURE = re.compile(r"[0-9a-f]{64}")
FORMATS = {
    "console": [],
    "json": ["--json"],
    "junit": ["--junit", "{dir}/report.xml"],
    "debug": ["--debug"],
    "debug-json": ["--debug", "--json"],
}


@pytest.fixture(scope="module")
def server() -> Iterator[Soketi]:
    with start_soketi(key=KEY, secret=SECRET, app_id=APP_ID) as running:
        yield running


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with auth_endpoint(AuthApp(APP_ID, KEY, SECRET)) as url:
        yield url


def leaks(text: str) -> list[str]:
    values = (
        ("secret", SECRET),
        ("token", TOKEN),
        ("master key", MASTER_KEY),
        ("master key bytes", MASTER_RAW.decode()),
        ("channel key", base64.b64encode(SHARED).decode()),
    )
    found = [name for name, value in values if value in text]
    found += [f"signature {m}" for m in SIGNATURE.findall(text)]  # also a hex channel key
    # Masked forms show at most the first three characters.
    for name, value in (("secret", SECRET), ("master key", MASTER_KEY)):
        found += [f"{name} prefix {value[:8]}"] if value[:8] in text else []
    return found


def assert_no_leak(outcome: Outcome, workdir: Path) -> None:
    places = {"stdout": outcome.stdout, "stderr": outcome.stderr}
    for path in workdir.rglob("*"):
        if path.is_file() and path.suffix in (".xml", ".json", ".log", ".txt"):
            places[str(path)] = path.read_text(errors="replace")
    found = {place: leaks(text) for place, text in places.items() if leaks(text)}
    assert not found, f"leaked {found}\n{outcome.describe()}"
    assert "Traceback" not in outcome.stderr or "--debug" in outcome.args, outcome.describe()


def run(args: list[str], fmt: str, tmp_path: Path, stdin: str | None = None) -> Outcome:
    extra = [a.format(dir=tmp_path) for a in FORMATS[fmt]]
    outcome = run_wsdiag(*args, *extra, home=tmp_path, stdin=stdin, limit=60)
    assert_no_leak(outcome, tmp_path)
    return outcome


def good(server: Soketi) -> list[str]:
    return ["--app-id", APP_ID, "--key", KEY, "--secret", SECRET]


def wrong_secret() -> list[str]:
    # The wrong secret is distinctive too: a failure must not print what was tried either.
    return ["--app-id", APP_ID, "--key", KEY, "--secret", SECRET + "-wrong"]


COMMANDS = {
    "check ok": lambda s, e: ["check", s.ws_url, *good(s), "--timeout", "3", "--events", "2"],
    "check bad secret": lambda s, e: ["check", s.ws_url, *wrong_secret(), "--timeout", "2"],
    "connect": lambda s, e: ["connect", s.ws_url, *good(s)[2:4], "--timeout", "2"],
    "resolve/reach": lambda s, e: ["reach", s.ws_url, "--timeout", "2"],
    "publish ok": lambda s, e: ["publish", s.ws_url, "news", "tick", '{"a":1}', *good(s)],
    "publish bad secret": lambda s, e: ["publish", s.ws_url, "news", "tick", "{}", *wrong_secret()],
    "publish encrypted": lambda s, e: [
        "publish",
        s.ws_url,
        ENCRYPTED,
        "tick",
        '{"a":1}',
        *good(s),
        "--encryption-master-key",
        MASTER_KEY,
    ],
    "publish encrypted, bad secret": lambda s, e: [
        "publish",
        s.ws_url,
        ENCRYPTED,
        "tick",
        "{}",
        *wrong_secret(),
        "--encryption-master-key",
        MASTER_KEY,
    ],
    "channels ok": lambda s, e: ["channels", s.ws_url, *good(s)],
    "channels bad secret": lambda s, e: ["channels", s.ws_url, *wrong_secret()],
    "tail private, local signing": lambda s, e: [
        "tail",
        s.ws_url,
        "private-room",
        "presence-room",
        *good(s),
        "--user-id",
        "7",
        "--duration",
        "1.5",
        "--timeout",
        "2",
    ],
    "tail private, bad secret": lambda s, e: [
        "tail",
        s.ws_url,
        "private-room",
        *wrong_secret(),
        "--duration",
        "1.5",
        "--timeout",
        "2",
    ],
    "tail encrypted": lambda s, e: [
        "tail",
        s.ws_url,
        ENCRYPTED,
        *good(s),
        "--encryption-master-key",
        MASTER_KEY,
        "--duration",
        "1.5",
        "--timeout",
        "2",
    ],
    "tail via auth endpoint": lambda s, e: [
        "tail",
        s.ws_url,
        "private-room",
        "--key",
        KEY,
        "--secret",
        SECRET,
        "--auth-endpoint",
        e,
        "--auth-header",
        f"Authorization: Bearer {TOKEN}",
        "--duration",
        "1.5",
        "--timeout",
        "2",
    ],
    # pusher-js sends a URL's user:password; wsdiag must not print the password it was given.
    "tail via auth endpoint, password in its URL": lambda s, e: [
        "tail",
        s.ws_url,
        "private-room",
        "--key",
        KEY,
        "--auth-endpoint",
        e.replace("://", f"://app:{TOKEN}@", 1),
        "--duration",
        "1.5",
        "--timeout",
        "2",
    ],
}


# tail streams events and writes no JUnit report; every other pairing runs.
CASES = [
    (c, f)
    for c in sorted(COMMANDS)
    for f in sorted(FORMATS)
    if not (c.startswith("tail") and f == "junit")
]


@pytest.mark.soketi
@pytest.mark.parametrize(("command", "fmt"), CASES)
def test_no_secret_in_any_output(
    server: Soketi, endpoint: str, tmp_path: Path, command: str, fmt: str
) -> None:
    args = COMMANDS[command](server, endpoint)
    outcome = run(args, fmt, tmp_path)
    bad = "bad secret" in command
    assert outcome.exit_code == (1 if bad else 0), outcome.describe()


@pytest.mark.soketi
@pytest.mark.parametrize("fmt", ["console", "json", "debug"])
def test_an_unreachable_auth_endpoint_is_named_without_its_password(
    server: Soketi, tmp_path: Path, fmt: str
) -> None:
    with refused_port() as port:
        url = f"http://app:{TOKEN}@127.0.0.1:{port}/broadcasting/auth"
        args = ["tail", server.ws_url, "private-room", "--key", KEY, "--auth-endpoint", url]
        outcome = run([*args, "--duration", "1.5", "--timeout", "2"], fmt, tmp_path)
    assert outcome.exit_code != 0, outcome.describe()
    assert "app:***@127.0.0.1" in outcome.stdout + outcome.stderr, outcome.describe()


def test_a_malformed_auth_endpoint_is_refused_without_its_password(tmp_path: Path) -> None:
    url = f"http://app:{TOKEN}@127.0.0.1:notaport/broadcasting/auth"
    outcome = run(
        ["tail", "ws://127.0.0.1:9", "private-room", "--auth-endpoint", url], "console", tmp_path
    )
    assert outcome.exit_code == 2, outcome.describe()
    assert "app:***@127.0.0.1" in outcome.stderr, outcome.describe()


@pytest.mark.soketi
def test_secrets_from_environment_and_env_file(server: Soketi, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"PUSHER_APP_ID={APP_ID}\nPUSHER_APP_KEY={KEY}\nPUSHER_APP_SECRET={SECRET}\n"
        f"PUSHER_ENCRYPTION_MASTER_KEY={MASTER_KEY}\n"
    )
    for args in (
        ["config", "show", "--env-file", str(env_file)],
        ["publish", server.ws_url, "news", "tick", "{}", "--env-file", str(env_file), "--debug"],
        ["publish", server.ws_url, ENCRYPTED, "t", "{}", "--env-file", str(env_file), "--debug"],
        ["check", server.ws_url, "--env-file", str(env_file), "--json", "--debug", "--events", "1"],
    ):
        outcome = run_wsdiag(*args, home=tmp_path)
        assert outcome.exit_code == 0, outcome.describe()
        assert not leaks(outcome.stdout + outcome.stderr), outcome.describe()
    shown = run_wsdiag("config", "show", "--env-file", str(env_file), home=tmp_path).stdout
    assert MASTER_KEY[:3] + "…" in shown  # masked, and still recognisable


@pytest.mark.parametrize(
    "key",
    [MASTER_KEY + "x", MASTER_KEY[:-8] + "=", "!" + MASTER_KEY],
    ids=["too long", "too short", "not base64"],
)
def test_an_unusable_master_key_is_not_repeated(key: str, tmp_path: Path) -> None:
    """A usage error about the key says what is wrong with it, never the key itself."""
    for args, env in (
        (["--encryption-master-key", key], {}),
        ([], {"PUSHER_ENCRYPTION_MASTER_KEY": key}),
    ):
        outcome = run_wsdiag(
            "publish",
            "ws://127.0.0.1:9",
            ENCRYPTED,
            "tick",
            "{}",
            "--app-id",
            APP_ID,
            "--key",
            KEY,
            "--secret",
            SECRET,
            *args,
            "--debug",
            home=tmp_path,
            env=env,
        )
        assert outcome.exit_code == 2, outcome.describe()
        assert "nothing was sent" in outcome.stderr, outcome.describe()
        assert not leaks(outcome.stdout + outcome.stderr), outcome.describe()
        assert key not in outcome.stdout + outcome.stderr, outcome.describe()


def test_a_profile_master_key_is_masked(tmp_path: Path) -> None:
    config = tmp_path / "wsdiag.toml"
    config.write_text(f'[profiles.enc]\nencryption_master_key = "{MASTER_KEY}"\n')
    config.chmod(0o600)
    shown = run_wsdiag("config", "show", "--profile", "enc", "--config", str(config), home=tmp_path)
    assert shown.exit_code == 0, shown.describe()
    assert not leaks(shown.stdout + shown.stderr), shown.describe()
    line = next(x for x in shown.stdout.splitlines() if x.startswith("encryption_master_key"))
    assert MASTER_KEY[:3] + "…" in line and "profile enc" in line


def test_config_file_with_a_secret_is_private(tmp_path: Path) -> None:
    config = tmp_path / "wsdiag.toml"
    outcome = run_wsdiag(
        "config",
        "add",
        "staging",
        "--target",
        "eu",
        "--app-id",
        APP_ID,
        "--key",
        KEY,
        "--secret",
        SECRET,
        "--config",
        str(config),
        home=tmp_path,
    )
    assert outcome.exit_code == 0, outcome.describe()
    assert not leaks(outcome.stdout + outcome.stderr)
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    shown = run_wsdiag(
        "config", "show", "--profile", "staging", "--config", str(config), home=tmp_path
    )
    assert shown.exit_code == 0, shown.describe()
    assert not leaks(shown.stdout + shown.stderr), shown.describe()
    assert SECRET[:3] + "…" in shown.stdout  # masked, and still recognisable


@pytest.mark.soketi
@pytest.mark.parametrize("bad", [False, True], ids=["good secret", "bad secret"])
def test_no_secret_in_the_support_bundle(server: Soketi, tmp_path: Path, bad: bool) -> None:
    """Every file of the zip, the trace included; a proxy password in the environment too."""
    bundle = tmp_path / "bundle.zip"
    args = wrong_secret() if bad else good(server)
    proxy = {"HTTPS_PROXY": f"http://user:{TOKEN}@127.0.0.1:9", "NO_PROXY": "127.0.0.1"}
    outcome = run_wsdiag(
        "bundle", server.ws_url, *args, "-o", str(bundle), "--events", "2", "--timeout", "3",
        home=tmp_path, env=proxy, limit=60,
    )  # fmt: skip
    assert outcome.exit_code == (1 if bad else 0), outcome.describe()
    with zipfile.ZipFile(bundle) as opened:
        opened.extractall(tmp_path / "unzipped")
        assert len(opened.namelist()) == 10
    assert_no_leak(outcome, tmp_path)
    proxy_text = (tmp_path / "unzipped" / "wsdiag-report" / "proxy.txt").read_text()
    assert "HTTPS_PROXY=http://user:***@127.0.0.1:9" in proxy_text


@pytest.mark.soketi
@pytest.mark.parametrize("fmt", [[], ["--json"]], ids=["lines", "ndjson"])
def test_no_secret_while_watching(server: Soketi, tmp_path: Path, fmt: list[str]) -> None:
    for args in (good(server), wrong_secret()):
        outcome = run_wsdiag(
            "watch", server.ws_url, *args, "--count", "2", "--interval", "0.1", "--events", "1",
            "--timeout", "3", *fmt, home=tmp_path, limit=60,
        )  # fmt: skip
        assert outcome.exit_code == (0 if args == good(server) else 1), outcome.describe()
        assert_no_leak(outcome, tmp_path)


@pytest.mark.soketi
def test_no_secret_from_fanout_server_or_env_lint(server: Soketi, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"REVERB_APP_ID={APP_ID}\nREVERB_APP_KEY={KEY}\nREVERB_APP_SECRET={SECRET}\n"
        f"REVERB_HOST=127.0.0.1\nREVERB_PORT={server.port}\nREVERB_SCHEME=http\n"
    )
    runs = [
        ["fanout", server.ws_url, *good(server), "--sockets", "2", "--events", "2"],
        ["fanout", server.ws_url, *good(server), "--sockets", "2", "--events", "2", "--json"],
        ["server", server.ws_url, *good(server)],
        ["server", server.ws_url, *good(server), "--json"],
        ["env-lint", "--env-file", str(env_file)],
        ["env-lint", "--env-file", str(env_file), "--json"],
    ]
    for args in runs:
        outcome = run_wsdiag(*args, "--timeout", "3", home=tmp_path, limit=90)
        assert outcome.exit_code == 0, outcome.describe()
        assert_no_leak(outcome, tmp_path)
