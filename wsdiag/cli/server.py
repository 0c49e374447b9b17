"""``server``: what this server is, what it supports, its limits and allowed origins (issue 11)."""

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


def _origin_list(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...]:
    from wsdiag.cli.options import _parse_origin

    if not value:
        return ()
    return tuple(
        str(_parse_origin(ctx, param, item.strip())) for item in value.split(",") if item.strip()
    )


@click.command()
@click.argument("target", metavar="TARGET", shell_complete=complete_target_or_settings)
@check_run_options
@click.option(
    "--origins",
    callback=_origin_list,
    metavar="URL,URL…",
    help="Origins to try, each as a browser on that page sends it: which does the server allow?",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def server(
    target: str,
    server: ServerFlags,
    network: NetworkFlags,
    checks: CheckFlags,
    creds: CredentialFlags,
    origins: tuple[str, ...],
    as_json: bool,
) -> None:
    """What this server is, what it supports, and its limits, found by trying.

    Names the server (Pusher, soketi, Reverb, other) from its replies; with
    --app-id, --key and --secret it tries client events, user sign-in, cache
    channels, batch events, terminate_connections and the health routes, and
    searches for the largest event, the channels per publish and the events
    per batch it accepts. --origins tries each origin. Exit 1 when no Pusher
    connection could be made.

    \b
    Examples:
      wsdiag server ws://127.0.0.1:6001 --app-id 1 --key app-key --secret S
      wsdiag server wss://ws.example.com --env-file .env --origins https://a.example
    """
    from wsdiag.capabilities import probe_server
    from wsdiag.exit_codes import ExitCode
    from wsdiag.render.server import server_document, server_lines

    run = Invocation(server, creds, network)
    resolved = run.target(target)
    credentials = check_credentials(run)
    options = run.check_options(resolved, checks)

    report = probe_server(resolved, credentials, options, origins, progress_on_stderr(as_json))
    code = ExitCode.CHECK_FAILED if report.error else ExitCode.OK
    finish_document(as_json, server_document(report, int(code)), server_lines(report), int(code))


COMMANDS: tuple[click.Command, ...] = (server,)
