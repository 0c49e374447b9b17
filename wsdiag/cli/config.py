"""``wsdiag config``: show the resolved settings and where each came from; add profiles."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from wsdiag.cli.options import FilePath, credential_options, load_profile, server_options

# (setting, flag option, PUSHER_* name, profile key)
SETTINGS = (
    ("app_id", "app_id", "PUSHER_APP_ID", "app_id"),
    ("key", "key", "PUSHER_APP_KEY", "key"),
    ("secret", "secret", "PUSHER_APP_SECRET", "secret"),
    ("cluster", None, "PUSHER_APP_CLUSTER", "cluster"),
    ("host", "host", "PUSHER_HOST", "host"),
    ("port", "port", "PUSHER_PORT", "port"),
    ("scheme", None, "PUSHER_SCHEME", "scheme"),
)


@click.group()
def config() -> None:
    """Profiles in ~/.config/wsdiag/config.toml, and the settings wsdiag resolves.

    Precedence: flags > environment > --env-file > profile.

    \b
    Examples:
      wsdiag config show --profile staging
      wsdiag config add staging --target eu --app-id 123 --key KEY --secret SECRET
      wsdiag config path
    """


def resolve_settings(opts: dict[str, Any]) -> list[Any]:
    from wsdiag.config import Setting
    from wsdiag.credentials import read_env_file

    profile = load_profile(opts)
    env_file = read_env_file(opts["env_file"]) if opts.get("env_file") else {}
    settings = []
    for name, flag, env_name, profile_key in SETTINGS:
        candidates = [
            (opts.get(flag) if flag else None, "flag"),
            (os.environ.get(env_name) or None, f"environment {env_name}"),
            (env_file.get(env_name), f"env file {opts.get('env_file')}"),
            (profile.values.get(profile_key), f"profile {profile.name} ({profile.path})"),
        ]
        value, source = next(((str(v), s) for v, s in candidates if v), (None, "not set"))
        settings.append(Setting(name, value, source))
    target = opts.get("target") or profile.values.get("target")
    target_source = "argument" if opts.get("target") else f"profile {profile.name}"
    settings.insert(0, Setting("target", target, target_source if target else "not set"))
    return settings


@config.command()
@click.argument("target", required=False)
@server_options
@credential_options
def show(**opts: Any) -> None:
    """Print the resolved settings, the secret masked, and where each came from.

    \b
    Examples:
      wsdiag config show
      wsdiag config show --profile staging --env-file .env
    """
    for setting in resolve_settings(opts):
        shown = setting.shown() if setting.value is not None else "-"
        click.echo(f"{setting.name:<8} {shown:<40} {setting.source}")


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
def add(name: str, config_path: str | None, **values: str | None) -> None:
    """Add or replace a profile (the file is created private, mode 600).

    \b
    Examples:
      wsdiag config add staging --target eu --app-id 123 --key KEY --secret SECRET
      wsdiag config add local --target ws://127.0.0.1:6001 --key app-key
    """
    from wsdiag.config import ConfigError, default_path, write_profile

    path = Path(config_path) if config_path else default_path()
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

    click.echo(
        str(
            Path(os.environ["WSDIAG_CONFIG"]) if os.environ.get("WSDIAG_CONFIG") else default_path()
        )
    )


COMMANDS: tuple[click.Command, ...] = (config,)
