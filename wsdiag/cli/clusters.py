"""``clusters``: every public cluster side by side, the nearest one, and which one knows a key.

Rendered by ``wsdiag.render.clusters`` (plain fixed-width text and JSON).
"""

from __future__ import annotations

import json

import click

from wsdiag.cli.options import (
    CheckFlags,
    Invocation,
    NetworkFlags,
    ServerFlags,
    check_options,
    network_options,
)
from wsdiag.exit_codes import ExitCode


@click.command()
@click.option(
    "--key", metavar="KEY", help="App key: find the cluster that accepts it [env: PUSHER_APP_KEY]."
)
@network_options
@check_options
@click.option("--json", "as_json", is_flag=True, help="Write a JSON document to stdout.")
def clusters(key: str | None, network: NetworkFlags, checks: CheckFlags, as_json: bool) -> None:
    """Probe every public cluster: the nearest by ping, and which one knows a key.

    Each cluster (mt1 us2 us3 eu ap1 ap2 ap3 ap4 sa1) gets DNS, TCP, TLS, the
    WebSocket upgrade, the Pusher handshake and --pings round trips, all at
    once, each within --timeout. With --key, the cluster that answers
    connection_established is the key's; the others answer 4001. Exit 1 when
    no cluster can be reached.

    \b
    Examples:
      wsdiag clusters
      wsdiag clusters --key 278d425bdf160c739803 --json
    """
    from wsdiag.target import cluster_target

    # The key as every command resolves it: --key, else PUSHER_APP_KEY or the default profile.
    run = Invocation(ServerFlags(key=key), network=network)
    key = run.settings.value("key")
    options = run.check_options(cluster_target("mt1"), checks)
    from wsdiag.checks.clusters import probe_clusters, ranked

    try:
        found = ranked(probe_clusters(key, options))
    except KeyboardInterrupt:
        click.echo("\nInterrupted.", err=True)
        raise click.exceptions.Exit(int(ExitCode.INTERRUPTED)) from None
    code = ExitCode.OK if any(r.reachable for r in found) else ExitCode.CHECK_FAILED
    from wsdiag.render.clusters import clusters_document, clusters_lines

    if as_json:
        click.echo(json.dumps(clusters_document(found, key, run.notes), indent=2))
    else:
        for line in clusters_lines(found, key, run.notes):
            click.echo(line)
    raise click.exceptions.Exit(int(code))


COMMANDS = (clusters,)
