"""Names for the differential test: one host name resolves alike for pusher-js and wsdiag.

pusher-js resolves through Node's ``dns.lookup`` (getaddrinfo: the hosts file,
then DNS); wsdiag asks dnspython and compares with getaddrinfo. ``names`` runs
both inside a private mount namespace (``unshare --mount``) where a hosts file
with the condition's names is bind-mounted over /etc/hosts and nsswitch.conf
says ``hosts: files`` (as ``ip netns exec`` bind-mounts /etc/netns/NAME/*), and
gives wsdiag ``--resolver`` pointing at a test DNS server that serves the same
names. A name not listed does not exist for either (getaddrinfo: EAI_NONAME,
DNS: NXDOMAIN), and nothing reaches the machine's real resolver. ``ROWS`` is the
agree/disagree table printed at the end of the run (conftest.py).

The rest of a condition comes from tests/servers and the fault harness: soketi
behind a (TLS) front is ``relay.relay_on``, listening inside a
``netns.firewalled_host`` where the condition wants iptables rules
(``FirewalledHost.block``); wsdiag runs through ``run_wsdiag`` with
``prefix=Names.prefix``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.dns import Zone, dns_server

BIND_MOUNTS = 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf'


@dataclass(frozen=True)
class Row:
    """One condition's two outcomes, for the table printed at the end of the run."""

    condition: str
    pusher_js: str
    exit_code: int
    headline: str

    @property
    def agree(self) -> bool:
        return (self.pusher_js == "connected") == (self.exit_code == 0)


ROWS: list[Row] = []


@dataclass(frozen=True)
class Names:
    prefix: tuple[str, ...]  # runs a command with the private hosts file
    resolver: str  # IP:PORT of the DNS server answering the same names


@functools.cache
def _unshare() -> tuple[str, ...] | str:
    """The unshare command that works here, or why none does."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    command: tuple[str, ...] = ("unshare", "--mount", "--propagation", "private")
    if os.geteuid() != 0:  # an unprivileged user namespace can bind-mount too, where allowed
        command = ("unshare", "--map-root-user", *command[1:])
    probe = [*command, "--", "sh", "-c", "mount --bind /etc/hosts /etc/hosts"]
    if subprocess.run(probe, capture_output=True, timeout=10, check=False).returncode == 0:
        return command
    return "no private mount namespace here (needs root or unprivileged user namespaces)"


def _nsswitch_files_only() -> str:
    """This machine's nsswitch.conf with ``hosts: files``: no lookup leaves the hosts file."""
    try:
        lines = Path("/etc/nsswitch.conf").read_text().splitlines()
    except OSError:
        lines = []
    kept = [line for line in lines if not line.strip().startswith("hosts:")]
    return "\n".join([*kept, "hosts: files", ""])


@contextlib.contextmanager
def names(workdir: Path, mapping: Mapping[str, Sequence[str]]) -> Iterator[Names]:
    """``{name: [addresses]}`` for both clients; every other name does not exist.

    The files go to a directory of their own under ``workdir``: conditions run at once.
    """
    command = _unshare()
    if isinstance(command, str):
        pytest.skip(f"conditions with host names need a private /etc/hosts: {command}")
    directory = Path(tempfile.mkdtemp(prefix="names-", dir=workdir))
    hosts = directory / "hosts"
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    lines += [f"{address} {name}" for name, addresses in mapping.items() for address in addresses]
    hosts.write_text("\n".join(lines) + "\n")
    nsswitch = directory / "nsswitch.conf"
    nsswitch.write_text(_nsswitch_files_only())
    zone: Zone = {
        name: {
            "A": [(a, 60) for a in addresses if ":" not in a],
            "AAAA": [(a, 60) for a in addresses if ":" in a],
        }
        for name, addresses in mapping.items()
    }
    with dns_server(zone) as dns:
        prefix = (
            *command,
            "--",
            "sh",
            "-c",
            f'{BIND_MOUNTS} && shift 2 && exec "$@"',
            "sh",
            str(hosts),
            str(nsswitch),
        )
        yield Names(prefix, f"{dns.address[0]}:{dns.address[1]}")
