"""``env-lint``: a Laravel .env's broadcasting settings, checked against each other (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from wsdiag.envlint import Speaks


def probe_scheme(host: str, port: int, timeout: float) -> Speaks:
    """What ``host:port`` speaks: ``tls``, ``plain`` or ``unreachable`` (no certificate check)."""
    from wsdiag.checks import CheckOptions, dial_stage
    from wsdiag.checks.websocket import speaks_tls
    from wsdiag.dialer import DialError
    from wsdiag.target import Endpoint

    options = CheckOptions(timeout=timeout)
    try:
        dial_stage(host, port, options, addresses=None).close()
    except DialError:
        return "unreachable"
    return "tls" if speaks_tls(Endpoint(host, port, True), host, options) else "plain"


@click.command(name="env-lint")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False),
    help="The .env to read [default: ./.env if there is one, else the environment].",
)
@click.option(
    "--no-probe",
    "probe",
    flag_value=False,
    default=True,
    help="Do not connect to check each scheme against its port.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 60),
    default=3.0,
    show_default=True,
    help="Seconds to wait for each port checked.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def env_lint(env_file: str | None, probe: bool, timeout: float, as_json: bool) -> None:
    """Check a Laravel .env's broadcasting settings against each other.

    The app key in every variable that holds it; where the app publishes
    (REVERB_HOST/PORT/SCHEME or PUSHER_*), where Reverb binds
    (REVERB_SERVER_HOST/PORT) and where the browser connects (VITE_REVERB_* or
    VITE_PUSHER_*): differences a proxy explains pass, others are named; each
    scheme is checked against what its port speaks; localhost in a container
    is flagged. Exit 1 when a finding fails.

    \b
    Examples:
      wsdiag env-lint
      wsdiag env-lint --env-file ../app/.env --json
    """
    from wsdiag.cli.options import current_environment
    from wsdiag.credentials import CredentialsError, read_env_file
    from wsdiag.envlint import lint
    from wsdiag.exit_codes import ExitCode
    from wsdiag.models import Status

    environ = current_environment().environ
    if env_file is None and Path(".env").is_file():
        env_file = ".env"
    try:
        values = read_env_file(env_file, all_keys=True) if env_file else dict(environ)
    except CredentialsError as exc:
        raise click.UsageError(str(exc)) from None
    source = env_file or "the environment"

    def scheme_of(host: str, port: int) -> Speaks:
        return probe_scheme(host, port, timeout)

    findings = lint(values, scheme_of if probe else None)
    failed = any(f.status is Status.FAIL for f in findings)
    code = ExitCode.CHECK_FAILED if failed else ExitCode.OK
    if as_json:
        from wsdiag import __version__

        document = {
            "schema_version": 1,
            "tool": {"name": "wsdiag", "version": __version__},
            "command": "env-lint",
            "source": source,
            "exit_code": int(code),
            "findings": [
                {
                    "status": str(f.status),
                    "kind": str(f.kind) if f.kind else None,
                    "summary": f.summary,
                    "cause": f.cause,
                    "fix": f.fix,
                }
                for f in findings
            ],
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo(f"wsdiag env-lint: {source}")
        if not findings:
            click.echo("no broadcasting settings found (PUSHER_*, REVERB_*, VITE_*)")
        for finding in findings:
            word = {Status.OK: "ok  ", Status.WARN: "warn", Status.FAIL: "FAIL"}[finding.status]
            kind = f" [{finding.kind}]" if finding.kind else ""
            click.echo(f"{word}  {finding.summary}{kind}")
            if finding.cause:
                click.echo(f"      cause: {finding.cause}")
            if finding.fix:
                click.echo(f"      fix:   {finding.fix}")
    click.get_current_context().exit(int(code))


COMMANDS: tuple[click.Command, ...] = (env_lint,)
