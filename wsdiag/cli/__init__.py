"""The command line: parses arguments, runs checks, hands the report to a renderer.

Thin on purpose. Only click and stdlib-only wsdiag modules are imported at the
top of these modules: ``--help``, ``--version`` and shell completion (which
re-runs the program on every TAB) must not pay for rich, dnspython or
websocket-client. Each command imports what it needs when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from wsdiag import __version__
from wsdiag.exit_codes import ExitCode

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from wsdiag.environment import Environment


class ReaderGone(Exception):
    """stdout's reader left (``wsdiag tail --json | head -1``)."""


# Every command, where it lives and its one-line help. The commands are built only
# when one runs (click's lazy group pattern): `wsdiag --help`, `--version` and a TAB on
# a command name import click and this module alone (issue 13). tests/test_help.py
# checks each line against the command's own help, so the two cannot drift.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "bundle": (
        "wsdiag.cli.bundle",
        "Write a support bundle: the check, its trace and this machine's network facts.",
    ),
    "channels": (
        "wsdiag.cli.channels",
        "Query the HTTP API: occupied channels, one channel, or a presence channel's users.",
    ),
    "check": (
        "wsdiag.cli.check",
        "Check every layer: DNS, TCP, TLS, WebSocket, Pusher handshake, ping.",
    ),
    "clusters": (
        "wsdiag.cli.clusters",
        "Probe every public cluster: the nearest by ping, and which one knows a key.",
    ),
    "config": (
        "wsdiag.cli.config",
        "Profiles in ~/.config/wsdiag/config.toml, and the settings wsdiag resolves.",
    ),
    "connect": ("wsdiag.cli.check", "WebSocket upgrade, Pusher handshake and ping round trips."),
    "exporter": (
        "wsdiag.cli.exporter",
        "Serve Prometheus probes: GET /probe?target=T&module=M runs one check.",
    ),
    "env-lint": (
        "wsdiag.cli.envlint",
        "Check a Laravel .env's broadcasting settings against each other.",
    ),
    "explain": (
        "wsdiag.cli.explain",
        "Explain a Pusher or WebSocket close code, an HTTP API status or a wsdiag error kind.",
    ),
    "fanout": (
        "wsdiag.cli.fanout",
        "Check that events and presence reach every socket across the server's nodes.",
    ),
    "publish": ("wsdiag.cli.channels", "Publish an event over the HTTP API and explain the reply."),
    "reach": (
        "wsdiag.cli.check",
        "Connect over TCP to every address on 443 and 80 (or the server's port).",
    ),
    "resolve": ("wsdiag.cli.check", "Resolve the target's hosts (A, AAAA, CNAME chain, TTLs)."),
    "server": (
        "wsdiag.cli.server",
        "What this server is, what it supports, and its limits, found by trying.",
    ),
    "soak": (
        "wsdiag.cli.soak",
        "Find the idle timeout of the path: three connections with different keep-alives.",
    ),
    "tail": (
        "wsdiag.cli.channels",
        "Watch channels live: events, presence members, connection states.",
    ),
    "tls": ("wsdiag.cli.check", "TLS handshake: version, cipher, ALPN and the certificate chain."),
    "watch": (
        "wsdiag.cli.watch",
        "Check again every --interval seconds: a live dashboard, then a summary.",
    ),
}


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        # click turns EPIPE into exit 1 before main() can see it; a reader that
        # has read enough is no failure, so carry it past click instead.
        try:
            return super().invoke(ctx)
        except (BrokenPipeError, ReaderGone):
            raise ReaderGone from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            import importlib

            module = importlib.import_module(LAZY_COMMANDS[cmd_name][0])
            for command in module.COMMANDS:
                self.add_command(command)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in sorted(LAZY_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        names = [
            CompletionItem(name, help=help_text)
            for name, (_, help_text) in sorted(LAZY_COMMANDS.items())
            if name.startswith(incomplete)
        ]
        return names + click.Command.shell_complete(self, ctx, incomplete)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="wsdiag")
def cli() -> None:
    """Find out why an app can or cannot talk to Pusher Channels in real time, and how fast.

    \b
    Examples:
      wsdiag check mt1                           every layer to the mt1 cluster
      wsdiag check ws://127.0.0.1:6001 --key app-key   a self-hosted soketi
      wsdiag tail mt1 my-channel --key KEY       watch a channel's events live
      wsdiag publish mt1 my-channel my-event '{"hello":"world"}'
    """


def load_commands() -> dict[str, click.Command]:
    """Every command, built (for the man page generator and the help tests)."""
    ctx = click.Context(cli)
    for name in LAZY_COMMANDS:
        cli.get_command(ctx, name)
    return dict(cli.commands)


def main(argv: Sequence[str] | None = None, env: Environment | None = None) -> None:
    """Console entry point: maps every way out to a documented exit code, never a traceback.

    ``env``: the variables and streams of this run (the process's by default);
    tests pass their own instead of patching ``os.environ``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(
            args=args,
            prog_name="wsdiag",
            standalone_mode=False,
            obj=env,  # None: the process's own, built when a command asks for it
        )
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("\nInterrupted.", err=True)
        code = ExitCode.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except (BrokenPipeError, ReaderGone):
        # `wsdiag … | head`: the reader is gone; stop quietly like other Unix tools.
        _silence_stdout()
        code = ExitCode.OK
    except Exception as exc:
        if "--debug" in args:
            raise
        click.echo(
            f"wsdiag: internal error: {type(exc).__name__}: {exc} (run again with --debug for the "
            "traceback, and please report it)",
            err=True,
        )
        code = ExitCode.CHECK_FAILED
    sys.exit(code if isinstance(code, int) else 0)


def _silence_stdout() -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
