"""``wsdiag config``: show the resolved settings and where each came from; add profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
from wsdiag.exit_codes import ExitCode


@click.group()
def config() -> None:
    """Profiles in ~/.config/wsdiag/config.toml, and the settings wsdiag resolves.

    Precedence: flags > --env-file > environment > profile.

    \b
    Examples:
      wsdiag config show --profile staging
      wsdiag config show --json | jq -r .settings.key.value
      wsdiag config add staging --target eu --app-id 123 --key KEY --secret SECRET
      wsdiag config path
    """


@config.command()
@click.argument("target", required=False)
@server_options
@credential_options
@click.option("--json", "as_json", is_flag=True, help="Print the settings as one JSON document.")
def show(target: str | None, server: ServerFlags, creds: CredentialFlags, as_json: bool) -> None:
    """Print the resolved settings, the secret masked, and where each came from.

    These are the values, and the target, that every other command uses with
    the same arguments, settings and profile.

    \b
    Examples:
      wsdiag config show
      wsdiag config show --profile staging --env-file .env
      wsdiag config show --json
    """
    run = Invocation(server, creds)
    shown = target_of(run, target)
    if as_json:
        import json

        click.echo(json.dumps(_document(run, shown), indent=2, ensure_ascii=False))
        return
    for line in settings_lines(run, shown):
        click.echo(line)


def settings_lines(run: Invocation, shown: dict[str, Any]) -> list[str]:
    """``config show``'s table: each setting, its value (the secret masked), its source."""
    rows = [("target", shown["value"] or "-", shown["error"] or shown["source"])]
    rows += [(s.name, s.shown(), s.source) for s in run.settings.items]
    width = max(len(name) for name, _, _ in rows)
    return [f"{name:<{width}} {value:<40} {source}" for name, value, source in rows]


def target_of(run: Invocation, argument: str | None) -> dict[str, Any]:
    """The target exactly as the other commands resolve it, or why there is none."""
    from wsdiag.target import TargetError

    server = run.server
    try:
        resolved, source = run.settings.target(
            None if argument == "-" else argument, tls=server.tls, port=server.port
        )
    except TargetError as exc:
        named = (argument not in (None, "-")) or any(
            run.settings.value(n) for n in ("host", "cluster")
        )
        named = named or bool(run.settings.profile.values.get("target"))
        return {"value": None, "source": "not set", "error": str(exc) if named else None}
    return {"value": resolved.label, "source": source, "error": None}


def _document(run: Invocation, target: dict[str, Any]) -> dict[str, Any]:
    from wsdiag.config import default_path

    settings = run.settings
    config_file = (
        Path(run.server.config_path) if run.server.config_path else default_path(run.env.environ)
    )
    return {
        "config_file": str(config_file),
        "profile": {
            "name": settings.profile.name,
            "path": str(settings.profile.path) if settings.profile.path else None,
        },
        "target": target,
        "settings": {
            s.name: {"value": None if s.value is None else s.shown(), "source": s.source}
            for s in settings.items
        },
    }


class ProfileError(click.ClickException):
    """A profile that must not be written, or a file that cannot be edited safely: exit 2."""

    exit_code = ExitCode.USAGE


@config.command()
@click.argument("name")
@click.option("--target", help="Cluster name or server URL for this profile.")
@click.option("--app-id", help="App id.")
@click.option("--key", help="App key.")
@click.option("--secret", help="App secret (the file is written with mode 600).")
@click.option("--auth-endpoint", help="The app's channel auth URL.")
@click.option(
    "--encryption-master-key",
    metavar="BASE64",
    help="Master key of private-encrypted- channels (32 bytes, base64).",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Replace the profile: keys not given here are removed [default: merge].",
)
@click.option(
    "--config",
    "config_path",
    envvar="WSDIAG_CONFIG",
    type=FilePath(dir_okay=False),
    help="Config file [default: ~/.config/wsdiag/config.toml].",
)
def add(name: str, config_path: str | None, replace: bool, **given: str | None) -> None:
    """Add a profile, or merge into one (the file is kept private, mode 600).

    Keys not given keep their values (--replace removes them). Comments, order
    and value types of the file are kept; the target is checked first and the
    file is replaced in one step, so a bad value leaves it as it was.

    \b
    Examples:
      wsdiag config add staging --target eu --app-id 123 --key KEY --secret SECRET
      wsdiag config add staging --secret NEW-SECRET
      wsdiag config add local --target ws://127.0.0.1:6001 --key app-key --replace
    """
    from wsdiag.config import ConfigError, default_path, write_profile

    path = Path(config_path) if config_path else default_path(current_environment().environ)
    chosen = {k: v for k, v in given.items() if v}
    if not chosen:
        raise click.UsageError("give at least one of --target, --app-id, --key, --secret")
    try:
        change = write_profile(path, name, chosen, replace=replace)
    except ConfigError as exc:
        raise ProfileError(f"{exc} (nothing was written)") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from None
    said = [f"set {', '.join(change.changed)}" if change.changed else "no value changed"]
    if change.kept:
        said.append(f"kept {', '.join(change.kept)}")
    if change.dropped:
        said.append(f"removed {', '.join(change.dropped)}")
    click.echo(f"profile {name!r} {change.action} in {path}: {'; '.join(said)}")


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
