"""Where the trusted CAs come from, and the one client TLS context every connection uses.

The first source that is set wins (issue 9, defect 9):

1. ``--ca-bundle FILE``;
2. ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``: OpenSSL's own variables, so wsdiag trusts what
   curl, git and OpenSSL-based clients on this machine trust; both are used when both are
   set, as OpenSSL does;
3. ``REQUESTS_CA_BUNDLE``: what Python apps using requests trust (a directory works too,
   as in requests);
4. certifi's bundle. Not the system store by default: certifi is what Python clients such
   as pusher-http-python ship with, and a stale system store is a user problem we want to
   *detect*, not inherit (see PUSHER-PROTOCOL.md, pusher-http-php#299).

A source that cannot be loaded (not PEM, empty, a directory, no certificate, missing) is a
usage error found before anything is sent (issue 9, defect 8): ``client_context`` raises
``TrustError`` with one line saying what is wrong with which file and how to fix it.
Built contexts are cached, so every stage and connection shares one per (source, verify,
ALPN) instead of reading the bundle again.

Stdlib only (certifi is imported when its bundle is needed): the CLI imports this lazily.
"""

from __future__ import annotations

import os
import re
import ssl
import threading
from collections.abc import Mapping
from enum import StrEnum

from wsdiag.records import record

DEFAULT_ALPN = ("http/1.1",)
# OpenSSL finds certificates in a directory only under their subject hash (c_rehash).
_HASHED_NAME = re.compile(r"^[0-9a-f]{8}\.\d+$")
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")


class Origin(StrEnum):
    """Which setting named the trusted CAs, in precedence order."""

    OPTION = "--ca-bundle"
    OPENSSL = "SSL_CERT_FILE/SSL_CERT_DIR"
    REQUESTS = "REQUESTS_CA_BUNDLE"
    CERTIFI = "certifi"


@record
class CaSource:
    """The CAs to trust: a PEM file and/or a hashed directory, and the setting that named them.

    ``file_from`` / ``dir_from`` name the option or variable each path came from, so
    messages can say which setting to fix. certifi's file is found when it is loaded.
    """

    origin: Origin
    cafile: str | None = None
    capath: str | None = None
    file_from: str | None = None
    dir_from: str | None = None

    @property
    def from_environment(self) -> bool:
        return self.origin in (Origin.OPENSSL, Origin.REQUESTS)

    @property
    def label(self) -> str:
        """``certifi``, the --ca-bundle path, or ``NAME=value`` for each variable used."""
        if self.origin is Origin.CERTIFI:
            return "certifi"
        if self.origin is Origin.OPTION:
            return self.cafile or ""
        named = [(self.file_from, self.cafile), (self.dir_from, self.capath)]
        return ", ".join(f"{name}={value}" for name, value in named if name and value)


class TrustError(Exception):
    """The CA source cannot be used; the message is one line: which file, what is wrong, the fix."""


def ca_source(ca_bundle: str | None = None, env: Mapping[str, str] | None = None) -> CaSource:
    """The CAs to trust: ``ca_bundle`` > SSL_CERT_FILE/SSL_CERT_DIR > REQUESTS_CA_BUNDLE > certifi.

    ``env`` defaults to ``os.environ``. An empty variable counts as unset
    (``SSL_CERT_FILE= wsdiag …`` is how a shell user turns one off).
    """
    env = os.environ if env is None else env
    if ca_bundle:
        return CaSource(Origin.OPTION, cafile=ca_bundle, file_from="--ca-bundle")
    cert_file, cert_dir = env.get("SSL_CERT_FILE") or None, env.get("SSL_CERT_DIR") or None
    if cert_file or cert_dir:
        return CaSource(
            Origin.OPENSSL,
            cafile=cert_file,
            capath=cert_dir,
            file_from="SSL_CERT_FILE" if cert_file else None,
            dir_from="SSL_CERT_DIR" if cert_dir else None,
        )
    requests_bundle = env.get("REQUESTS_CA_BUNDLE") or None
    if requests_bundle and os.path.isdir(requests_bundle):
        return CaSource(Origin.REQUESTS, capath=requests_bundle, dir_from="REQUESTS_CA_BUNDLE")
    if requests_bundle:
        return CaSource(Origin.REQUESTS, cafile=requests_bundle, file_from="REQUESTS_CA_BUNDLE")
    return CaSource(Origin.CERTIFI)


_contexts: dict[tuple[object, ...], ssl.SSLContext] = {}
_lock = threading.Lock()


def client_context(
    source: CaSource, verify: bool = True, alpn: tuple[str, ...] = DEFAULT_ALPN
) -> ssl.SSLContext:
    """The client context trusting ``source`` (none when ``verify`` is off), built once.

    Cached per (source, verify, ALPN) and the bundle file's identity, so a file
    rewritten in place is read again. Callers must not change the context: it is
    shared by every connection (an SSLContext is safe to share between threads).
    Raises ``TrustError``.
    """
    key = (source, _identity(source.cafile), True, alpn) if verify else (None, None, False, alpn)
    with _lock:  # held while building, so concurrent stages load the bundle once
        context = _contexts.get(key)
        if context is None:
            context = _build(source, alpn) if verify else _unverified(alpn)
            _contexts[key] = context
    return context


def check_source(source: CaSource) -> None:
    """Load ``source`` as the connections will, so a bad bundle fails before anything is sent."""
    client_context(source)


def _identity(path: str | None) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path) if path else None
    except (OSError, ValueError):
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns) if info else None


def _unverified(alpn: tuple[str, ...]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def _build(source: CaSource, alpn: tuple[str, ...]) -> ssl.SSLContext:
    cafile = source.cafile
    if source.origin is Origin.CERTIFI:
        import certifi

        cafile = certifi.where()
    if source.cafile:
        _check_file(source, source.cafile)
    if source.capath:
        _check_directories(source, source.capath, sole=not source.cafile)
    try:
        context = ssl.create_default_context(cafile=cafile, capath=source.capath)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise TrustError(_unloadable(source, cafile or "", exc)) from None
    if cafile and not context.cert_store_stats()["x509"]:  # a CRL-only file loads "fine"
        raise TrustError(f"{_subject(source, cafile)} holds no certificate; {_fix(source, 'file')}")
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def _subject(source: CaSource, path: str, directory: bool = False) -> str:
    """``--ca-bundle FILE`` or ``SSL_CERT_FILE=FILE``: the setting the user has to fix."""
    if source.origin is Origin.CERTIFI:
        return f"certifi's bundle {path}"
    name = (source.dir_from if directory else source.file_from) or str(source.origin)
    return f"{name} {path}" if name.startswith("--") else f"{name}={path}"


def _fix(source: CaSource, what: str, hint: str | None = None) -> str:
    """How to fix the file (``what="file"``) or directory: set or pass ``hint``."""
    if source.origin is Origin.CERTIFI:
        return "reinstall certifi (pip install --force-reinstall certifi)"
    if hint is None and what == "dir":
        hint = "a directory of certificates named by hash (openssl rehash DIR)"
    elif hint is None:
        hint = (
            "the CA certificate(s) as PEM, -----BEGIN CERTIFICATE----- "
            "(convert a .crt/.cer with: openssl x509 -in CA.crt -out CA.pem)"
        )
    if source.origin is Origin.OPTION:
        return f"pass {hint}"
    name = source.dir_from if what == "dir" else source.file_from
    return f"set {name} to {hint}, or unset it"


def _check_file(source: CaSource, path: str) -> None:
    subject = _subject(source, path)
    if os.path.isdir(path):
        raise TrustError(
            f"{subject} is a directory, not a PEM file; "
            + _fix(source, "file", "one PEM file (a hashed directory goes in SSL_CERT_DIR)")
        )
    if not os.path.exists(path):
        hint = "the path of an existing PEM file"
        raise TrustError(f"{subject} does not exist; {_fix(source, 'file', hint)}")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise TrustError(
            f"{subject} cannot be read ({exc.strerror}); fix its permissions"
        ) from None


def _check_directories(source: CaSource, value: str, *, sole: bool) -> None:
    """Every directory listed exists; alone, they must hold hashed certificates to trust."""
    directories = [d for d in value.split(os.pathsep) if d]
    hashed = 0
    for directory in directories:
        subject = _subject(source, value, directory=True)
        if len(directories) > 1:  # a list, as OpenSSL reads it: name the culprit
            subject += f": {directory}"
        if not os.path.exists(directory):
            hint = "existing directories"
            raise TrustError(f"{subject} does not exist; {_fix(source, 'dir', hint)}")
        if not os.path.isdir(directory):
            raise TrustError(
                f"{subject} is a file, not a directory; {_fix(source, 'dir')} "
                "(a PEM bundle goes in SSL_CERT_FILE or --ca-bundle)"
            )
        try:
            hashed += sum(1 for name in os.listdir(directory) if _HASHED_NAME.match(name))
        except OSError as exc:
            raise TrustError(
                f"{subject} cannot be read ({exc.strerror}); fix its permissions"
            ) from None
    if sole and not hashed:
        raise TrustError(
            f"{_subject(source, value, directory=True)} holds no certificate named by its hash "
            "(like 5ed36f99.0), the only names OpenSSL reads there; "
            + _fix(source, "dir", f"a hashed directory (openssl rehash {value})")
        )


def _unloadable(source: CaSource, path: str, exc: BaseException) -> str:
    """Why OpenSSL refused the file, said from its content: what a user can act on."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(10_000_000)
    except OSError:
        head = b""
    blocks = set(_PEM_BLOCK.findall(head))
    hint = None
    if isinstance(exc, OSError) and not isinstance(exc, ssl.SSLError):
        problem = f"cannot be read ({exc.strerror or exc})"
        hint = "a readable PEM file"
    elif not head.strip():
        problem = "is empty"
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        problem = "is UTF-16 text (as PowerShell's > writes it), not PEM"
        hint = "the same certificates saved as ASCII"
    elif head[:1] == b"\x30" and head[1:2] >= b"\x80":  # an ASN.1 SEQUENCE: DER or PKCS#12
        problem = "is binary (DER or PKCS#12), not PEM"
        hint = f"a PEM copy (openssl x509 -inform der -in {path} -out ca.pem)"
    elif blocks & {b"CERTIFICATE", b"TRUSTED CERTIFICATE", b"X509 CERTIFICATE"}:
        problem = "has a damaged certificate block (OpenSSL: {})".format(
            re.sub(r"\s*\(_ssl\.c:\d+\)", "", str(exc))
        )
        hint = "a fresh copy or export of the CA certificate"
    elif blocks:
        problem = "holds no certificate, only " + ", ".join(sorted(b.decode() for b in blocks))
    else:
        problem = "is not PEM: it has no -----BEGIN CERTIFICATE----- line"
    return f"{_subject(source, path)} {problem}; {_fix(source, 'file', hint)}"
