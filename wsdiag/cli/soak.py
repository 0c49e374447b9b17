"""``soak``: how long an idle connection lives on this path, and what keeps it alive (issue 10)."""

from __future__ import annotations

import json

import click

from wsdiag.cli.complete import complete_target_or_settings
from wsdiag.cli.options import (
    Invocation,
    NetworkFlags,
    Seconds,
    ServerFlags,
    network_options,
    server_options,
)


@click.command()
@click.argument("target", metavar="TARGET", shell_complete=complete_target_or_settings)
@server_options
@click.option(
    "--duration",
    type=Seconds(min=0, min_open=True),
    default=600.0,
    show_default=True,
    help="Hold the connections this long (seconds).",
)
@click.option(
    "--interval",
    type=Seconds(min=0, min_open=True),
    help="Keep-alive interval of (b) and (c) (default: the server's activity_timeout).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@network_options
def soak(
    target: str,
    server: ServerFlags,
    duration: float,
    interval: float | None,
    as_json: bool,
    network: NetworkFlags,
) -> None:
    """Find the idle timeout of the path: three connections with different keep-alives.

    Holds three connections at once: (a) no pings, (b) WebSocket control pings
    only, (c) pusher:ping after the server's activity_timeout, as pusher-js does.
    Reports how long each lived and how it ended, the path's idle timeout and the
    activityTimeout to configure. Exit 1 when (c) dies or nothing connects.

    \b
    Examples:
      wsdiag soak mt1 --key KEY
      wsdiag soak ws://127.0.0.1:6001 --key app-key --duration 180 --json
    """
    from wsdiag.checks.soak import run_soak
    from wsdiag.exit_codes import ExitCode
    from wsdiag.models import Status
    from wsdiag.render.soak import SoakProgress, soak_document, soak_lines

    run = Invocation(server, None, network)
    resolved = run.target(target)
    if not resolved.key:
        raise click.UsageError("soak needs the app key: --key or PUSHER_APP_KEY")
    check = run.check_options(resolved, announce=True)
    progress = SoakProgress(run.env.errors, duration)
    try:
        result = run_soak(
            resolved.websocket, resolved.key, check, duration, interval, progress.update
        )
    finally:
        progress.stop()
    code = ExitCode.CHECK_FAILED if result.status is Status.FAIL else ExitCode.OK
    if as_json:
        click.echo(json.dumps(soak_document(result, int(code)), ensure_ascii=False, indent=2))
    else:
        click.echo("\n".join(soak_lines(result)))
    click.get_current_context().exit(int(code))


COMMANDS: tuple[click.Command, ...] = (soak,)
