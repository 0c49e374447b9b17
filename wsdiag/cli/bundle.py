"""``bundle``: one check and this machine's network facts in a zip for support (issue 12)."""

from __future__ import annotations

import io
from pathlib import Path

import click

from wsdiag.cli.check import check_credentials
from wsdiag.cli.complete import complete_target
from wsdiag.cli.options import (
    CheckFlags,
    CredentialFlags,
    Invocation,
    NetworkFlags,
    ServerFlags,
    check_run_options,
    events_option,
    exit_code_of,
    soak_option,
    unwritable,
)


def _output_path(ctx: click.Context, param: click.Parameter, value: str) -> Path:
    if not ctx.resilient_parsing and (problem := unwritable(value)):
        raise click.BadParameter(problem)
    return Path(value)


@click.command()
@click.argument("target", required=False, metavar="[TARGET]", shell_complete=complete_target)
@check_run_options
@click.option(
    "-o",
    "--output",
    default="wsdiag-report.zip",
    show_default=True,
    metavar="FILE",
    callback=_output_path,
    help="Where to write the zip (checked before anything runs).",
)
@events_option(5)
@soak_option("Also hold idle connections this long and include the soak's findings.")
def bundle(
    target: str | None,
    server: ServerFlags,
    network: NetworkFlags,
    checks: CheckFlags,
    creds: CredentialFlags,
    output: Path,
    events: int,
    soak: float,
) -> None:
    """Write a support bundle: the check, its trace and this machine's network facts.

    Runs `wsdiag check` with its protocol trace, and zips the report (JSON and
    text), the trace, wsdiag/Python/OpenSSL/package versions, the OS, the proxy
    variables, the DNS configuration, the routes, where the trusted CAs came
    from and the settings with their sources. Secrets are masked in every
    file. Exit code: the check's.

    \b
    Examples:
      wsdiag bundle mt1 --env-file .env
      wsdiag bundle wss://ws.example.com --key KEY -o support.zip --soak 120
    """
    from rich.console import Console

    from wsdiag import bundle as collect
    from wsdiag import trace
    from wsdiag.checks.runner import check_target
    from wsdiag.cli.config import settings_lines, target_of
    from wsdiag.models import Report, Stage
    from wsdiag.render.console import ConsoleRenderer
    from wsdiag.render.json import render_json
    from wsdiag.render.verdict import verdict
    from wsdiag.trust import ca_source

    run = Invocation(server, creds, network)
    resolved = run.target(target)
    credentials = check_credentials(run)
    secrets = [credentials.secret if credentials else None, run.settings.value("secret")]
    for secret in secrets:
        trace.add_secret(secret)
    options = run.check_options(resolved, checks)
    traced = io.StringIO()
    trace.enable(traced)
    report = Report(command="bundle", target=resolved.label)
    click.echo(f"wsdiag bundle: checking {resolved.label}…", err=True)
    try:
        check_target(
            resolved,
            options,
            report,
            stages=tuple(Stage),
            credentials=credentials,
            events=events,
            soak_s=soak,
            client="pusher-js",
        )
    except KeyboardInterrupt:
        report.interrupted = True
    report.notes.extend(n for n in run.notes if n not in report.notes)
    code = exit_code_of(report)
    text = io.StringIO()
    console = Console(file=text, width=100, color_system=None, highlight=False)
    ConsoleRenderer(console, err_console=console, detailed=True).finish(report, int(code))
    proxy = options.proxy.label if options.proxy else None
    environ = run.env.environ
    files = {
        "README.txt": collect.readme(resolved.label, _command_line(), verdict(report)),
        "check.json": render_json(report, int(code)) + "\n",
        "check.txt": text.getvalue(),
        "trace.txt": traced.getvalue() or "(nothing was traced)\n",
        "versions.txt": collect.versions(),
        "settings.txt": "\n".join(settings_lines(run, target_of(run, target))) + "\n",
        "proxy.txt": collect.proxy_text(environ, proxy),
        "dns.txt": collect.dns_text(list(resolved.hosts), options.resolver),
        "routes.txt": collect.routes_text(),
        "trust.txt": f"trusted CAs: {ca_source(options.ca_bundle, environ).label}\n"
        f"verification: {'on' if options.verify_tls else 'OFF (--insecure)'}\n",
    }
    try:
        collect.write_bundle(output, files, secrets)
    except OSError as exc:
        raise click.FileError(str(output), exc.strerror) from None
    click.echo(f"wrote {output} ({len(files)} files): {verdict(report)}")
    click.get_current_context().exit(int(code))


def _command_line() -> str:
    """How this bundle was asked for, options' values left out (they may hold a secret)."""
    import sys

    words = [w.split("=", 1)[0] for w in sys.argv[1:] if w.startswith("-")]
    return "wsdiag bundle " + " ".join(words)


COMMANDS: tuple[click.Command, ...] = (bundle,)
