"""Where trusted CAs come from, through `python -m wsdiag` against trustme TLS servers (issue 9).

Defect 8: a --ca-bundle (or SSL_CERT_FILE…) that cannot be loaded was an
``internal error: SSLError`` on every TLS row, and ``tail`` reconnected forever;
it is a usage error, one line, before anything is sent.
Defect 9: SSL_CERT_FILE / SSL_CERT_DIR / REQUESTS_CA_BUNDLE were ignored.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.faults.harness import Outcome, run_wsdiag
from tests.servers.tls import TlsServer, tls_server

HOST = "127.0.0.1"  # the servers' certificates name the IP: no DNS in these tests
CREDENTIALS = ("--app-id", "1", "--key", "app-key", "--secret", "app-secret")


def _not_pem(path: Path) -> None:
    path.write_text("this is not a certificate\n")


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _directory(path: Path) -> None:
    path.mkdir()


def _der(path: Path) -> None:
    path.write_bytes(ssl.PEM_cert_to_DER_cert(trustme.CA().cert_pem.bytes().decode()))


def _key_only(path: Path) -> None:
    trustme.CA().private_key_pem.write_to_path(str(path))


def _damaged(path: Path) -> None:
    lines = trustme.CA().cert_pem.bytes().decode().splitlines()
    lines[3] = "!!!!" + lines[3][4:]
    path.write_text("\n".join(lines) + "\n")


def _missing(path: Path) -> None:
    pass


BAD_BUNDLES: dict[str, tuple[Callable[[Path], None], str]] = {  # how to make it, what is said
    "not PEM": (_not_pem, "is not PEM"),
    "empty": (_empty, "is empty"),
    "a directory": (_directory, "is a directory"),
    "DER": (_der, "is binary (DER"),
    "a private key only": (_key_only, "holds no certificate, only"),
    "a damaged certificate": (_damaged, "has a damaged certificate block"),
    "missing": (_missing, "does not exist"),
}


def bad_bundle(tmp_path: Path, kind: str) -> str:
    make, _ = BAD_BUNDLES[kind]
    path = tmp_path / f"bad-{kind.replace(' ', '-')}.pem"
    make(path)
    return str(path)


def other_ca(tmp_path: Path) -> str:
    """A well-formed bundle of a CA that did not sign the server's certificate."""
    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TlsServer]:
    with tls_server(tmp_path, "tls", HOST) as running:
        yield running


def url(server_port: int) -> str:
    return f"wss://{HOST}:{server_port}"


def the_one_line(outcome: Outcome) -> str:
    """A usage error: exit 2, nothing on stdout, one line on stderr and no traceback."""
    context = outcome.describe()
    assert outcome.exit_code == 2, context
    assert outcome.stdout == "", context
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, context
    assert "internal error" not in lines[0] and "Traceback" not in lines[0], context
    return lines[0]


@pytest.mark.parametrize("kind", sorted(BAD_BUNDLES))
def test_a_bad_ca_bundle_is_a_usage_error(tmp_path: Path, server: TlsServer, kind: str) -> None:
    bundle = bad_bundle(tmp_path, kind)
    outcome = run_wsdiag("tls", url(server.port), "--ca-bundle", bundle, "--json", home=tmp_path)
    line = the_one_line(outcome)
    assert f"--ca-bundle {bundle}" in line  # which file
    assert BAD_BUNDLES[kind][1] in line  # what is wrong with it
    assert "; pass " in line  # and what to pass instead


@contextmanager
def listener() -> Iterator[tuple[int, Callable[[], int]]]:
    """A port that counts the connections made to it (accepted or still in the backlog)."""
    sock = socket.socket()
    sock.bind((HOST, 0))
    sock.listen(16)
    sock.setblocking(False)
    accepted: list[socket.socket] = []

    def connections() -> int:
        while True:
            try:
                accepted.append(sock.accept()[0])
            except BlockingIOError:
                return len(accepted)

    try:
        yield int(sock.getsockname()[1]), connections
    finally:
        for conn in accepted:
            conn.close()
        sock.close()


COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "check": lambda target: ["check", target, *CREDENTIALS],
    "resolve": lambda target: ["resolve", target],
    "reach": lambda target: ["reach", target],
    "tls": lambda target: ["tls", target],
    "connect": lambda target: ["connect", target, "--key", "app-key"],
    "tail": lambda target: ["tail", target, "news", "--key", "app-key"],
    "publish": lambda target: ["publish", target, "news", "tick", "{}", *CREDENTIALS],
    "channels": lambda target: ["channels", target, *CREDENTIALS],
}


@pytest.mark.parametrize("setting", ["--ca-bundle", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_refuses_a_bad_bundle_before_sending(
    tmp_path: Path, command: str, setting: str
) -> None:
    bundle = bad_bundle(tmp_path, "not PEM")
    with listener() as (port, connections):
        args = COMMANDS[command](url(port))
        if setting == "--ca-bundle":
            outcome = run_wsdiag(*args, "--ca-bundle", bundle, home=tmp_path, limit=20)
        else:
            outcome = run_wsdiag(*args, home=tmp_path, limit=20, env={setting: bundle})
        line = the_one_line(outcome)
        assert connections() == 0, "nothing may be sent with a bad CA bundle"
    named = f"--ca-bundle {bundle}" if setting == "--ca-bundle" else f"{setting}={bundle}"
    assert named in line


def tls_result(outcome: Outcome) -> dict[str, Any]:
    records = [r for r in outcome.report()["results"] if r["stage"] == "tls"]
    assert len(records) == 1, outcome.describe()
    result: dict[str, Any] = records[0]
    return result


def hashed_directory(tmp_path: Path, bundle: str) -> str:
    """The CA under its subject hash, as OpenSSL looks certificates up in SSL_CERT_DIR."""
    assert shutil.which("openssl"), "the openssl command makes the hashed name"
    digest = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", bundle],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    directory = tmp_path / "certs"
    directory.mkdir()
    shutil.copy(bundle, directory / f"{digest}.0")
    return str(directory)


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"])
def test_the_environment_names_the_trusted_cas(
    tmp_path: Path, server: TlsServer, variable: str
) -> None:
    value = server.ca_bundle
    if variable == "SSL_CERT_DIR":
        value = hashed_directory(tmp_path, server.ca_bundle)
    outcome = run_wsdiag("tls", url(server.port), "--json", home=tmp_path, env={variable: value})
    assert outcome.exit_code == 0, outcome.describe()
    record = tls_result(outcome)
    assert record["status"] == "ok"
    assert record["details"]["verified"] is True
    assert record["details"]["ca_bundle"] == f"{variable}={value}"
    assert (
        f"trusting CAs from {variable}={value} (--ca-bundle FILE overrides)"
        in (outcome.report()["notes"])
    )


def test_the_console_report_says_where_the_cas_came_from(tmp_path: Path, server: TlsServer) -> None:
    outcome = run_wsdiag(
        "tls", url(server.port), home=tmp_path, env={"SSL_CERT_FILE": server.ca_bundle}
    )
    assert outcome.exit_code == 0, outcome.describe()
    assert f"note: trusting CAs from SSL_CERT_FILE={server.ca_bundle}" in outcome.stderr
    assert f"ca_bundle: SSL_CERT_FILE={server.ca_bundle}" in outcome.stdout


@pytest.mark.parametrize(
    ("given", "trusted_by"),
    [
        # a higher setting wins even when a lower one would have passed
        ({"--ca-bundle": "good", "SSL_CERT_FILE": "other"}, "--ca-bundle"),
        ({"--ca-bundle": "other", "SSL_CERT_FILE": "good"}, None),
        ({"SSL_CERT_FILE": "good", "REQUESTS_CA_BUNDLE": "other"}, "SSL_CERT_FILE"),
        ({"SSL_CERT_FILE": "other", "REQUESTS_CA_BUNDLE": "good"}, None),
        ({"SSL_CERT_DIR": "good-dir", "REQUESTS_CA_BUNDLE": "other"}, "SSL_CERT_DIR"),
        ({"REQUESTS_CA_BUNDLE": "good"}, "REQUESTS_CA_BUNDLE"),
    ],
    ids=str,
)
def test_precedence(
    tmp_path: Path, server: TlsServer, given: dict[str, str], trusted_by: str | None
) -> None:
    files = {
        "good": server.ca_bundle,
        "other": other_ca(tmp_path),
        "good-dir": hashed_directory(tmp_path, server.ca_bundle)
        if "good-dir" in given.values()
        else "",
    }
    env = {name: files[which] for name, which in given.items() if not name.startswith("--")}
    option = ["--ca-bundle", files[given["--ca-bundle"]]] if "--ca-bundle" in given else []
    outcome = run_wsdiag("tls", url(server.port), *option, "--json", home=tmp_path, env=env)
    record = tls_result(outcome)
    winner = next(iter(given))  # listed highest first
    if trusted_by is None:
        assert outcome.exit_code == 1, outcome.describe()
        assert record["kind"] == "tls_untrusted_issuer"
    else:
        assert outcome.exit_code == 0, outcome.describe()
        assert record["status"] == "ok" and record["details"]["verified"] is True
    label = files[given[winner]] if winner == "--ca-bundle" else f"{winner}={files[given[winner]]}"
    assert record["details"]["ca_bundle"] == label


def test_openssl_file_and_directory_are_used_together(tmp_path: Path, server: TlsServer) -> None:
    """OpenSSL reads both SSL_CERT_FILE and SSL_CERT_DIR: the CA may be in either."""
    env = {
        "SSL_CERT_FILE": other_ca(tmp_path),
        "SSL_CERT_DIR": hashed_directory(tmp_path, server.ca_bundle),
    }
    outcome = run_wsdiag("tls", url(server.port), "--json", home=tmp_path, env=env)
    assert outcome.exit_code == 0, outcome.describe()
    expected = f"SSL_CERT_FILE={env['SSL_CERT_FILE']}, SSL_CERT_DIR={env['SSL_CERT_DIR']}"
    assert tls_result(outcome)["details"]["ca_bundle"] == expected


def test_certifi_when_nothing_is_set(tmp_path: Path, server: TlsServer) -> None:
    outcome = run_wsdiag("tls", url(server.port), "--json", home=tmp_path)
    assert outcome.exit_code == 1, outcome.describe()
    record = tls_result(outcome)
    assert record["kind"] == "tls_untrusted_issuer"
    assert record["details"]["ca_bundle"] == "certifi"
    assert not [n for n in outcome.report()["notes"] if "trusting CAs" in n]


def test_an_empty_variable_counts_as_unset(tmp_path: Path, server: TlsServer) -> None:
    """``SSL_CERT_FILE= wsdiag …`` is how a shell user turns one setting off."""
    env = {"SSL_CERT_FILE": "", "SSL_CERT_DIR": "", "REQUESTS_CA_BUNDLE": server.ca_bundle}
    outcome = run_wsdiag("tls", url(server.port), "--json", home=tmp_path, env=env)
    assert outcome.exit_code == 0, outcome.describe()
    assert tls_result(outcome)["details"]["ca_bundle"] == f"REQUESTS_CA_BUNDLE={server.ca_bundle}"


def test_an_unhashed_ssl_cert_dir_is_a_usage_error(tmp_path: Path, server: TlsServer) -> None:
    directory = tmp_path / "unhashed"
    directory.mkdir()
    shutil.copy(server.ca_bundle, directory / "ca.pem")  # OpenSSL would never find it
    outcome = run_wsdiag(
        "tls", url(server.port), home=tmp_path, env={"SSL_CERT_DIR": str(directory)}
    )
    line = the_one_line(outcome)
    assert f"SSL_CERT_DIR={directory} holds no certificate named by its hash" in line
    assert f"openssl rehash {directory}" in line


def test_insecure_ignores_a_bad_environment_bundle(tmp_path: Path, server: TlsServer) -> None:
    """Nothing is verified with --insecure, so a broken SSL_CERT_FILE is no reason to stop."""
    env = {"SSL_CERT_FILE": bad_bundle(tmp_path, "not PEM")}
    outcome = run_wsdiag("tls", url(server.port), "--insecure", "--json", home=tmp_path, env=env)
    assert outcome.exit_code == 0, outcome.describe()
    assert tls_result(outcome)["kind"] == "tls_verify_disabled"
    assert not [n for n in outcome.report()["notes"] if "trusting CAs" in n]


def test_insecure_still_refuses_a_bad_ca_bundle(tmp_path: Path, server: TlsServer) -> None:
    """The user named the file: a typo in it is worth knowing even with --insecure."""
    bundle = bad_bundle(tmp_path, "empty")
    outcome = run_wsdiag(
        "tls", url(server.port), "--insecure", "--ca-bundle", bundle, home=tmp_path
    )
    assert f"--ca-bundle {bundle} is empty" in the_one_line(outcome)


def test_tail_says_where_the_cas_came_from(tmp_path: Path, server: TlsServer) -> None:
    """tail has no report: the source is a note on stderr, and TLS passes with it.

    The trustme server is no WebSocket server: tail gets past TLS, then fails the
    upgrade until --duration ends it; no line may blame the certificate.
    """
    outcome = run_wsdiag(
        "tail",
        url(server.port),
        "news",
        "--key",
        "app-key",
        "--duration",
        "1",
        "--timeout",
        "1",
        home=tmp_path,
        env={"SSL_CERT_FILE": server.ca_bundle},
        limit=20,
    )
    assert outcome.stderr.startswith(f"note: trusting CAs from SSL_CERT_FILE={server.ca_bundle}"), (
        outcome.describe()
    )
    assert "state: connecting" in outcome.stderr, outcome.describe()
    assert "certificate" not in outcome.stderr and "verif" not in outcome.stderr
