"""``wsdiag explain``: what a close code, HTTP API status or error kind means, offline."""

from __future__ import annotations

import click


@click.command()
@click.argument("topic", metavar="CODE|KIND")
def explain(topic: str) -> None:
    """Explain a Pusher close code, an HTTP API status or a wsdiag error kind.

    \b
    Examples:
      wsdiag explain 4001
      wsdiag explain 1006
      wsdiag explain 401
      wsdiag explain tls_untrusted_issuer
    """
    from wsdiag.explain import explain as look_up

    found = look_up(topic)
    if found is None:
        raise click.UsageError(
            f"{topic!r} is not a close code (1000-4999), an HTTP status (400-599) or an error "
            "kind (see the README's list, e.g. tcp_filtered)"
        )
    click.echo(f"{found.topic}: {found.title}")
    click.echo(f"  meaning: {found.meaning}")
    click.echo(f"  fix:     {found.fix}")


COMMANDS: tuple[click.Command, ...] = (explain,)
