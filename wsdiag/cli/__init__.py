"""The command line: parses arguments, runs checks, hands the report to a renderer.

Thin on purpose. Only click and stdlib-only wsdiag modules are imported at the
top of these modules: ``--help``, ``--version`` and shell completion (which
re-runs the program on every TAB) must not pay for rich, dnspython or
websocket-client. Each command imports what it needs when it runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from wsdiag import __version__
from wsdiag.environment import Environment
from wsdiag.exit_codes import ExitCode


class ReaderGone(Exception):
    """stdout's reader left (``wsdiag tail --json | head -1``)."""


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        # click turns EPIPE into exit 1 before main() can see it; a reader that
        # has read enough is no failure, so carry it past click instead.
        try:
            return super().invoke(ctx)
        except (BrokenPipeError, ReaderGone):
            raise ReaderGone from None


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


def _register() -> None:
    from wsdiag.cli import channels, check, config, explain

    for module in (check, channels, config, explain):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


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
            obj=env or Environment.from_process(),
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
