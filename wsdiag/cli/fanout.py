"""``fanout``: do events and presence reach every socket across a deployment's nodes? (issue 11)"""

from __future__ import annotations

import click

from wsdiag.cli.check import check_credentials
from wsdiag.cli.complete import complete_target_or_settings
from wsdiag.cli.options import (
    CheckFlags,
    CredentialFlags,
    Invocation,
    NetworkFlags,
    ServerFlags,
    check_run_options,
    finish_document,
    progress_on_stderr,
)


@click.command()
@click.argument("target", metavar="TARGET", shell_complete=complete_target_or_settings)
@check_run_options
@click.option(
    "--sockets",
    type=click.IntRange(2, 200),
    default=6,
    show_default=True,
    help="Separate connections to open (a balancer spreads them over the nodes).",
)
@click.option(
    "--events",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="Numbered events to publish, each over a fresh HTTP connection.",
)
@click.option(
    "--socket-id/--no-socket-id",
    "exclusion",
    default=True,
    show_default=True,
    help="Also publish one event with the first socket's id, which it must not receive "
    "(pusher-js toOthers()).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def fanout(
    target: str,
    server: ServerFlags,
    network: NetworkFlags,
    checks: CheckFlags,
    creds: CredentialFlags,
    sockets: int,
    events: int,
    exclusion: bool,
    as_json: bool,
) -> None:
    """Check that events and presence reach every socket across the server's nodes.

    Opens --sockets connections, subscribes each to one fresh private and one
    presence channel (each as its own user), publishes --events numbered
    events over fresh HTTP connections, and reports per socket what arrived:
    lost, duplicated, out of order, latency, the node the balancer names.
    Names the failure: nodes not sharing pub/sub, presence split per node,
    toOthers() ignored. Needs --app-id, --key and --secret. Exit 1 on any loss.

    \b
    Examples:
      wsdiag fanout wss://ws.example.com --env-file .env --sockets 10 --events 50
      wsdiag fanout ws://127.0.0.1:6001 --app-id 1 --key app-key --secret S --json
    """
    from wsdiag.exit_codes import ExitCode
    from wsdiag.fanout import as_document, run_fanout
    from wsdiag.models import Status
    from wsdiag.render.fanout import fanout_lines

    run = Invocation(server, creds, network)
    resolved = run.target(target)
    credentials = check_credentials(run)
    if credentials is None:
        raise click.UsageError("fanout publishes events: it needs --app-id, --key and --secret")
    options = run.check_options(resolved, checks)
    for note in run.notes:
        click.echo(f"note: {note}", err=True)

    result = run_fanout(
        resolved,
        credentials,
        options,
        sockets,
        events,
        exclusion=exclusion,
        progress=progress_on_stderr(as_json),
    )
    code = ExitCode.CHECK_FAILED if result.status is Status.FAIL else ExitCode.OK
    finish_document(as_json, as_document(result, int(code)), fanout_lines(result), int(code))


COMMANDS: tuple[click.Command, ...] = (fanout,)
