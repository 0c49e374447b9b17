"""``wsdiag bundle``: everything support needs about this machine and one check, nothing secret.

The files of the zip, each built here from what the run saw:

- ``check.json``, ``check.txt``: the check as JSON (report-v2) and as the console prints it;
- ``trace.txt``: the ``--debug`` protocol trace (frames, HTTP exchanges), secrets masked;
- ``versions.txt``: wsdiag, Python, OpenSSL, the packages wsdiag uses, the OS;
- ``settings.txt``: the settings with where each came from (as ``config show``), the secret masked;
- ``proxy.txt``: the proxy variables (passwords masked) and the proxy the check used;
- ``dns.txt``: resolv.conf, the hosts lookup order, the hosts file's lines for the target's hosts;
- ``routes.txt``: the routing tables (``ip route``, ``ip -6 route``);
- ``trust.txt``: where the trusted CAs came from;
- ``README.txt``: this list, and how the bundle was made.

Every file passes through one scrub before it is written: the trace's
redaction (signatures, auth values, tokens, URL passwords) and every secret
of the run replaced by its masked form.
"""

from __future__ import annotations

import importlib.metadata
import platform
import re
import ssl
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from wsdiag import __version__

PACKAGES = ("click", "rich", "websocket-client", "dnspython", "certifi", "prometheus-client")
PROXY_NAMES = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy", "no_proxy",
               "NO_PROXY")  # fmt: skip
CONTENTS = {
    "check.json": "the check as JSON (schema report-v2)",
    "check.txt": "the check as the console prints it, every record in detail",
    "trace.txt": "the protocol trace (frames, HTTP exchanges), as --debug prints it",
    "versions.txt": "wsdiag, Python, OpenSSL, the packages wsdiag uses, the OS",
    "settings.txt": "the settings and where each came from (as `wsdiag config show`)",
    "proxy.txt": "the proxy variables and the proxy the check used",
    "dns.txt": "resolv.conf, the hosts lookup order, hosts file lines for the target's hosts",
    "routes.txt": "the routing tables",
    "trust.txt": "where the trusted CAs came from",
}


def versions() -> str:
    lines = [
        f"wsdiag {__version__}",
        f"python {sys.version.split()[0]} ({platform.python_implementation()}, {sys.executable})",
        f"openssl {ssl.OPENSSL_VERSION}",
    ]
    for package in PACKAGES:
        try:
            lines.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            lines.append(f"{package} not installed")
    lines.append(f"os {platform.platform()}")
    release = _read("/etc/os-release")
    pretty = re.search(r'^PRETTY_NAME="?([^"\n]*)', release or "", re.MULTILINE)
    if pretty:
        lines.append(f"distribution {pretty.group(1)}")
    return "\n".join(lines) + "\n"


def proxy_text(environ: Mapping[str, str], used: str | None) -> str:
    from wsdiag.target import masked_url

    lines = [f"{name}={masked_url(environ[name])}" for name in PROXY_NAMES if environ.get(name)]
    lines = lines or ["no proxy variable is set"]
    lines.append(f"the check used: {used or 'no proxy (direct connections)'}")
    return "\n".join(lines) + "\n"


def dns_text(hosts: Sequence[str], resolver: tuple[str, int] | None) -> str:
    parts = [f"--resolver: {resolver[0]}:{resolver[1]}" if resolver else "--resolver: not given"]
    parts.append("--- /etc/resolv.conf\n" + (_read("/etc/resolv.conf") or "(cannot be read)\n"))
    nsswitch = _read("/etc/nsswitch.conf") or ""
    order = [line for line in nsswitch.splitlines() if line.strip().startswith("hosts:")]
    parts.append("--- /etc/nsswitch.conf hosts line\n" + ("\n".join(order) or "(none)") + "\n")
    wanted = {h.lower() for h in hosts}
    listed = [
        line
        for line in (_read("/etc/hosts") or "").splitlines()
        if wanted & {word.lower() for word in line.split("#", 1)[0].split()[1:]}
    ]
    parts.append(
        "--- /etc/hosts lines for "
        + ", ".join(hosts)
        + "\n"
        + ("\n".join(listed) or "(none)")
        + "\n"
    )
    return "\n".join(parts)


def routes_text() -> str:
    out = []
    for args in (["ip", "route"], ["ip", "-6", "route"]):
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=5, check=False)
            out.append(f"$ {' '.join(args)}\n{done.stdout or done.stderr}")
        except (OSError, subprocess.TimeoutExpired) as exc:
            out.append(f"$ {' '.join(args)}\n(not available: {exc})\n")
    return "\n".join(out)


def readme(target: str, command: str, verdict: str) -> str:
    lines = [
        f"wsdiag {__version__} support bundle for {target}",
        f"made by: {command}",
        f"verdict: {verdict}",
        "",
        "Secrets (the app secret, signatures, auth values, tokens, proxy and URL passwords) are",
        "masked in every file. Files:",
    ]
    lines += [f"  {name:<14} {what}" for name, what in CONTENTS.items()]
    return "\n".join(lines) + "\n"


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    from wsdiag import trace
    from wsdiag.pusher.signing import mask_secret

    text = trace.redact(text)
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, mask_secret(secret))
    return text


def write_bundle(path: Path, files: Mapping[str, str], secrets: Iterable[str | None]) -> None:
    kept = list(secrets)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, text in files.items():
            bundle.writestr(f"wsdiag-report/{name}", scrub(text, kept))


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
