"""wsdiag.trust: which CAs are trusted (precedence, an injected environment), loading, caching."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

import pytest
import trustme

from wsdiag import trust
from wsdiag.transport import tls_context
from wsdiag.trust import CaSource, Origin, TrustError, ca_source, check_source, client_context


@pytest.fixture
def bundle(tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@pytest.mark.parametrize(
    ("option", "env", "expected"),
    [
        (None, {}, CaSource(Origin.CERTIFI)),
        (
            "o.pem",
            {"SSL_CERT_FILE": "f.pem"},
            CaSource(Origin.OPTION, "o.pem", None, "--ca-bundle"),
        ),
        (
            None,
            {"SSL_CERT_FILE": "f.pem", "REQUESTS_CA_BUNDLE": "r.pem"},
            CaSource(Origin.OPENSSL, "f.pem", None, "SSL_CERT_FILE"),
        ),
        (
            None,
            {"SSL_CERT_DIR": "/d", "REQUESTS_CA_BUNDLE": "r.pem"},
            CaSource(Origin.OPENSSL, None, "/d", None, "SSL_CERT_DIR"),
        ),
        (
            None,
            {"SSL_CERT_FILE": "f.pem", "SSL_CERT_DIR": "/d"},
            CaSource(Origin.OPENSSL, "f.pem", "/d", "SSL_CERT_FILE", "SSL_CERT_DIR"),
        ),
        (
            None,
            {"REQUESTS_CA_BUNDLE": "r.pem"},
            CaSource(Origin.REQUESTS, "r.pem", None, "REQUESTS_CA_BUNDLE"),
        ),
        (  # empty means unset, as `SSL_CERT_FILE= wsdiag …` in a shell
            "",
            {"SSL_CERT_FILE": "", "SSL_CERT_DIR": "", "REQUESTS_CA_BUNDLE": ""},
            CaSource(Origin.CERTIFI),
        ),
        (
            None,
            {"CURL_CA_BUNDLE": "c.pem", "NODE_EXTRA_CA_CERTS": "n.pem"},
            CaSource(Origin.CERTIFI),
        ),
    ],
)
def test_precedence(option: str | None, env: dict[str, str], expected: CaSource) -> None:
    assert ca_source(option, env) == expected


def test_a_requests_directory_is_read_as_a_directory(tmp_path: Path) -> None:
    source = ca_source(None, {"REQUESTS_CA_BUNDLE": str(tmp_path)})  # as requests does
    assert (source.cafile, source.capath) == (None, str(tmp_path))
    assert source.label == f"REQUESTS_CA_BUNDLE={tmp_path}"


def test_the_environment_defaults_to_os_environ(
    monkeypatch: pytest.MonkeyPatch, bundle: str
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", bundle)
    assert ca_source().label == f"SSL_CERT_FILE={bundle}"


@pytest.mark.parametrize(
    ("source", "label", "from_environment"),
    [
        (CaSource(Origin.CERTIFI), "certifi", False),
        (CaSource(Origin.OPTION, "ca.pem", None, "--ca-bundle"), "ca.pem", False),
        (
            CaSource(Origin.OPENSSL, "f", "d", "SSL_CERT_FILE", "SSL_CERT_DIR"),
            "SSL_CERT_FILE=f, SSL_CERT_DIR=d",
            True,
        ),
        (CaSource(Origin.REQUESTS, "r", None, "REQUESTS_CA_BUNDLE"), "REQUESTS_CA_BUNDLE=r", True),
    ],
)
def test_labels(source: CaSource, label: str, from_environment: bool) -> None:
    assert source.label == label
    assert source.from_environment is from_environment


def test_a_context_is_built_once_per_source_verify_and_alpn(bundle: str) -> None:
    source = ca_source(bundle, {})
    context = client_context(source)
    assert client_context(source) is context
    assert client_context(ca_source(bundle, {})) is context  # an equal source shares it
    assert client_context(source, alpn=()) is not context
    assert client_context(source, verify=False) is not context
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509"] == 1


def test_the_stages_share_the_context_through_transport(bundle: str) -> None:
    assert tls_context(bundle) is client_context(ca_source(bundle))
    assert tls_context(bundle, alpn=()) is client_context(ca_source(bundle), alpn=())


def test_a_rewritten_bundle_is_read_again(tmp_path: Path, bundle: str) -> None:
    source = ca_source(bundle, {})
    first = client_context(source)
    trustme.CA().cert_pem.write_to_path(bundle)  # same path, another CA
    second = client_context(source)
    assert second is not first
    assert second.get_ca_certs() != first.get_ca_certs()


def test_concurrent_stages_load_the_bundle_once(
    monkeypatch: pytest.MonkeyPatch, bundle: str
) -> None:
    built: list[CaSource] = []
    real_build = trust._build

    def counting_build(source: CaSource, alpn: tuple[str, ...]) -> ssl.SSLContext:
        built.append(source)
        return real_build(source, alpn)

    monkeypatch.setattr(trust, "_build", counting_build)
    source = ca_source(bundle, {"SSL_CERT_FILE": "ignored"})
    start = threading.Barrier(8)
    contexts: list[ssl.SSLContext] = []

    def stage() -> None:
        start.wait()
        contexts.append(client_context(source, alpn=("h-test",)))

    threads = [threading.Thread(target=stage) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert len({id(c) for c in contexts}) == 1


def test_unverified_contexts_ignore_the_source(tmp_path: Path) -> None:
    broken = ca_source(None, {"SSL_CERT_FILE": str(tmp_path / "missing.pem")})
    context = client_context(broken, verify=False)
    assert context.verify_mode is ssl.CERT_NONE and not context.check_hostname
    with pytest.raises(TrustError):
        client_context(broken)


def test_certifi_loads() -> None:
    check_source(ca_source(None, {}))
    assert client_context(ca_source(None, {})).cert_store_stats()["x509"] > 100


def _write(tmp_path: Path, content: bytes) -> str:
    path = tmp_path / "bundle.pem"
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"hello\n", "is not PEM: it has no -----BEGIN CERTIFICATE----- line"),
        (b"0 is a digit, not DER\n", "is not PEM"),
        ("x".encode("utf-16"), "is UTF-16 text"),
        (b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", "holds no certificate, only"),
    ],
)
def test_what_is_wrong_with_a_file(tmp_path: Path, content: bytes, problem: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(TrustError) as caught:
        check_source(ca_source(path, {}))
    message = str(caught.value)
    assert message.startswith(f"--ca-bundle {path} {problem}")
    assert "\n" not in message


def test_a_der_certificate_gets_the_command_that_converts_it(tmp_path: Path) -> None:
    der = ssl.PEM_cert_to_DER_cert(trustme.CA().cert_pem.bytes().decode())
    path = _write(tmp_path, der)
    with pytest.raises(TrustError, match="is binary") as caught:
        check_source(ca_source(path, {}))
    assert f"openssl x509 -inform der -in {path} -out ca.pem" in str(caught.value)


def test_a_crl_is_no_certificate(tmp_path: Path) -> None:
    """OpenSSL loads a CRL-only file without complaint; nothing would be trusted."""
    pytest.importorskip("cryptography")
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "ca")]))
        .last_update(now)
        .next_update(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path = _write(tmp_path, crl.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(TrustError, match="holds no certificate"):
        check_source(ca_source(path, {}))


def test_the_variable_is_named_and_can_be_unset(tmp_path: Path) -> None:
    path = _write(tmp_path, b"junk")
    with pytest.raises(TrustError) as caught:
        check_source(ca_source(None, {"REQUESTS_CA_BUNDLE": path}))
    message = str(caught.value)
    assert message.startswith(f"REQUESTS_CA_BUNDLE={path} is not PEM")
    assert message.endswith("or unset it")


def test_a_file_in_ssl_cert_dir(tmp_path: Path, bundle: str) -> None:
    with pytest.raises(TrustError, match=r"SSL_CERT_DIR=.* is a file, not a directory"):
        check_source(ca_source(None, {"SSL_CERT_DIR": bundle}))


def test_a_missing_directory_in_a_list_is_named(tmp_path: Path) -> None:
    value = f"{tmp_path}:{tmp_path / 'nope'}"
    with pytest.raises(TrustError) as caught:
        check_source(ca_source(None, {"SSL_CERT_DIR": value}))
    assert str(caught.value).startswith(f"SSL_CERT_DIR={value}: {tmp_path / 'nope'} does not exist")


def test_an_unhashed_directory_beside_a_file_adds_nothing_but_is_fine(
    tmp_path: Path, bundle: str
) -> None:
    """OpenSSL reads both; only a directory that is the sole source must hold hashed names."""
    empty = tmp_path / "empty"
    empty.mkdir()
    check_source(ca_source(None, {"SSL_CERT_FILE": bundle, "SSL_CERT_DIR": str(empty)}))
    with pytest.raises(TrustError, match="holds no certificate named by its hash"):
        check_source(ca_source(None, {"SSL_CERT_DIR": str(empty)}))
