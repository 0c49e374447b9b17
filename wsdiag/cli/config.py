"""``wsdiag config``: show the resolved settings and where each came from; add profiles."""

from __future__ import annotations

from pathlib import Path

import click

from wsdiag.cli.options import (
    CredentialFlags,
    FilePath,
    Invocation,
    ServerFlags,
    credential_options,
    current_environment,
    server_options,
)


@click.group()
def config() -> None:
    """Profiles in ~/.config/wsdiag/config.toml, and the settings wsdiag resolves.

    Precedence: flags > --env-file > environment > profile.

    \b
    Examples:
      wsdiag config show --profile staging
      wsdiag config add staging --target eu --app-id 123 --key KEY --secret SECRET
      wsdiag config path
    """


@config.command()
@click.argument("target", required=False)
@server_options
@credential_options
def show(target: str | None, server: ServerFlags, creds: CredentialFlags) -> None:
    """Print the resolved settings, the secret masked, and where each came from.

    The target line is the one every other command would use with the same
    arguments, settings and profile.

    \b
    Examples:
      wsdiag config show
      wsdiag config show --profile staging --env-file .env
    """
    from wsdiag.target import TargetError

    run = Invocation(server, creds)
    settings = run.settings
    try:
        resolved, source = settings.target(
            None if target == "-" else target, tls=server.tls, port=server.port
        )
        shown, where = resolved.label, source
    except TargetError:
        shown, where = "-", "not set"
    click.echo(f"{'target':<8} {shown:<40} {where}")
    for setting in settings.items:
        click.echo(f"{setting.name:<8} {setting.shown():<40} {setting.source}")


@config.command()
@click.argument("name")
@click.option("--target", help="Cluster name or server URL for this profile.")
@click.option("--app-id", help="App id.")
@click.option("--key", help="App key.")
@click.option("--secret", help="App secret (the file is written with mode 600).")
@click.option("--auth-endpoint", help="The app's channel auth URL.")
@click.option(
    "--config",
    "config_path",
    envvar="WSDIAG_CONFIG",
    type=FilePath(dir_okay=False),
    help="Config file [default: ~/.config/wsdiag/config.toml].",
)
def add(
    name: str,
    config_path: str | None,
    target: str | None,
    app_id: str | None,
    key: str | None,
    secret: str | None,
    auth_endpoint: str | None,
) -> None:
    """Add or replace a profile (the file is created private, mode 600).

    \b
    Examples:
      wsdiag config add staging --target eu --app-id 123 --key KEY --secret SECRET
      wsdiag config add local --target ws://127.0.0.1:6001 --key app-key
    """
    from wsdiag.config import ConfigError, default_path, write_profile

    environ = current_environment().environ
    path = Path(config_path) if config_path else default_path(environ)
    values = {
        "target": target,
        "app_id": app_id,
        "key": key,
        "secret": secret,
        "auth_endpoint": auth_endpoint,
    }
    chosen = {k: v for k, v in values.items() if v}
    if not chosen:
        raise click.UsageError("give at least one of --target, --app-id, --key, --secret")
    try:
        write_profile(path, name, chosen)
    except (ConfigError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"profile {name!r} written to {path}")


@config.command()
def path() -> None:
    """Print the config file's path.

    \b
    Examples:
      wsdiag config path
    """
    from wsdiag.config import default_path

    environ = current_environment().environ
    configured = environ.get("WSDIAG_CONFIG")
    click.echo(str(Path(configured) if configured else default_path(environ)))


COMMANDS: tuple[click.Command, ...] = (config,)
