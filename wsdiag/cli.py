"""The command line: parses arguments, runs checks, hands the report to a renderer.

Thin on purpose. Only click and stdlib-only wsdiag modules are imported at the
top: ``--help``, ``--version`` and shell completion (which re-runs the program
on every TAB) must not pay for rich, dnspython or websocket-client.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from wsdiag import __version__
from wsdiag.checks import CheckOptions
from wsdiag.exit_codes import ExitCode
from wsdiag.models import Report, Stage, Status
from wsdiag.target import Target, TargetError, parse_target

F = TypeVar("F", bound=Callable[..., Any])


def _parse_resolver(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[str, int] | None:
    if value is None:
        return None
    from wsdiag.checks.resolve import parse_resolver

    try:
        resolver: tuple[str, int] = parse_resolver(value)
        return resolver
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def target_options(fn: F) -> F:
    """TARGET and the flags that describe it; written once, shared by every command."""
    decorators = [
        click.argument("target", required=False, metavar="[TARGET]"),
        click.option("--host", help="Self-hosted server host name or IP (instead of TARGET)."),
        click.option(
            "--port",
            type=click.IntRange(1, 65535),
            help="Server port [default: 443 with TLS, 80 without].",
        ),
        click.option(
            "--tls/--no-tls",
            "tls",
            default=None,
            help="Whether the server speaks TLS (wss://) [default: TLS].",
        ),
        click.option(
            "--key",
            metavar="KEY",
            help="App key [env: PUSHER_APP_KEY]. Without one, a 4001 reply proves the path works.",
        ),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def check_options(fn: F) -> F:
    """Network knobs and output formats shared by the check commands."""
    decorators = [
        click.option(
            "--timeout",
            type=click.FloatRange(0.1, 120),
            default=5.0,
            show_default=True,
            help="Seconds to wait for each network step.",
        ),
        click.option(
            "--resolver",
            metavar="IP[:PORT]",
            callback=_parse_resolver,
            help="DNS server to ask instead of the system's resolver.",
        ),
        click.option(
            "--ca-bundle",
            type=click.Path(exists=True, dir_okay=False),
            help="PEM file of CAs to trust instead of certifi's bundle (private or corporate CA).",
        ),
        click.option(
            "--insecure",
            is_flag=True,
            help="Do NOT verify TLS certificates. Results say so loudly.",
        ),
        click.option(
            "--pings",
            type=click.IntRange(0, 1000),
            default=5,
            show_default=True,
            help="pusher:ping round trips to time (0: none).",
        ),
        click.option(
            "--json",
            "as_json",
            is_flag=True,
            help="Print one JSON report on stdout (schema in the README).",
        ),
        click.option(
            "--junit",
            type=click.Path(dir_okay=False, writable=True),
            help="Also write a JUnit XML report to this file (one testcase per stage and address).",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print only the verdict line."),
        click.option("--debug", is_flag=True, help="Show tracebacks of internal errors."),
    ]
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="wsdiag")
def cli() -> None:
    """Find out why an app can or cannot talk to Pusher Channels in real time, and how fast.

    \b
    Examples:
      wsdiag check mt1                           every layer to the mt1 cluster
      wsdiag check mt1 --key 278d425bdf160c739803
      wsdiag check ws://127.0.0.1:6001 --key app-key   a self-hosted soketi
      wsdiag tls eu --ca-bundle corp-ca.pem       just the TLS handshake
    """


def _run(command: str, stages: Sequence[Stage], *, detailed: bool, **opts: Any) -> None:
    ctx = click.get_current_context()
    target = _target_from(opts)
    options = CheckOptions(
        timeout=opts["timeout"],
        resolver=opts["resolver"],
        ca_bundle=opts["ca_bundle"],
        verify_tls=not opts["insecure"],
        ping_count=opts["pings"],
    )
    if opts["as_json"] and opts["quiet"]:
        raise click.UsageError("--json and --quiet cannot be used together")
    if opts["insecure"]:
        click.echo(
            "WARNING: --insecure: TLS certificates are NOT verified; "
            "a working result proves nothing about the certificate.",
            err=True,
        )
    report = Report(command=command, target=target.label)
    renderer = _renderer(opts, detailed=detailed)
    renderer.start(report)
    from wsdiag.checks.runner import check_target

    try:
        check_target(target, options, report, renderer.on_result, stages)
    except KeyboardInterrupt:
        report.interrupted = True
    code = _exit_code(report)
    renderer.finish(report, int(code))
    if opts["junit"]:
        from wsdiag.render.junit import render_junit

        with open(opts["junit"], "w", encoding="utf-8") as out:
            out.write(render_junit(report))
    ctx.exit(int(code))


def _target_from(opts: dict[str, Any]) -> Target:
    try:
        return parse_target(
            opts["target"],
            host=opts["host"],
            port=opts["port"],
            tls=opts["tls"],
            key=opts["key"],
            env=os.environ,
        )
    except TargetError as exc:
        raise click.UsageError(str(exc)) from None


def _exit_code(report: Report) -> ExitCode:
    if report.interrupted:
        return ExitCode.INTERRUPTED
    if report.status is Status.FAIL:
        return ExitCode.CHECK_FAILED
    return ExitCode.OK


def _renderer(opts: dict[str, Any], *, detailed: bool) -> Any:
    from wsdiag.render import make_renderer

    fmt = "json" if opts["as_json"] else "quiet" if opts["quiet"] else "console"
    return make_renderer(fmt, detailed=detailed, debug=opts["debug"])


@cli.command()
@target_options
@check_options
def check(**opts: Any) -> None:
    """Check every layer: DNS, TCP, TLS, WebSocket, Pusher handshake, ping.

    TARGET is a cluster name (mt1, eu, ap2…) or a self-hosted server URL
    (wss://host:port, ws://host:port). Without TARGET: --host, or the
    PUSHER_HOST / PUSHER_APP_CLUSTER environment variables.

    \b
    Examples:
      wsdiag check mt1
      wsdiag check eu --key 278d425bdf160c739803 --json
      wsdiag check ws://127.0.0.1:6001 --key app-key --junit wsdiag.xml
    """
    _run("check", tuple(Stage), detailed=False, **opts)


@cli.command()
@target_options
@check_options
def resolve(**opts: Any) -> None:
    """Resolve the target's hosts (A, AAAA, CNAME chain, TTLs).

    \b
    Examples:
      wsdiag resolve mt1
      wsdiag resolve mt1 --resolver 1.1.1.1
    """
    _run("resolve", (Stage.RESOLVE,), detailed=True, **opts)


@cli.command()
@target_options
@check_options
def reach(**opts: Any) -> None:
    """Connect over TCP to every address on 443 and 80 (or the server's port).

    \b
    Examples:
      wsdiag reach mt1
      wsdiag reach --host soketi.internal --port 6001 --no-tls
    """
    _run("reach", (Stage.RESOLVE, Stage.REACH), detailed=True, **opts)


@cli.command()
@target_options
@check_options
def tls(**opts: Any) -> None:
    """TLS handshake: version, cipher, ALPN and the certificate chain.

    \b
    Examples:
      wsdiag tls mt1
      wsdiag tls wss://ws.example.com:443 --ca-bundle corp-ca.pem
    """
    _run("tls", (Stage.RESOLVE, Stage.REACH, Stage.TLS), detailed=True, **opts)


@cli.command()
@target_options
@check_options
def connect(**opts: Any) -> None:
    """WebSocket upgrade, Pusher handshake and ping round trips.

    \b
    Examples:
      wsdiag connect mt1 --key 278d425bdf160c739803
      wsdiag connect ws://127.0.0.1:6001 --key app-key --pings 20
    """
    _run(
        "connect", (Stage.RESOLVE, Stage.REACH, Stage.WEBSOCKET, Stage.PING), detailed=True, **opts
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point: maps every way out to a documented exit code, never a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args=args, prog_name="wsdiag", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("\nInterrupted.", err=True)
        code = ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        click.echo("\nInterrupted.", err=True)
        code = ExitCode.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except OSError as exc:
        if "--debug" in args:
            raise
        click.echo(f"wsdiag: error: {exc}", err=True)
        code = ExitCode.CHECK_FAILED
    except Exception as exc:
        if "--debug" in args:
            raise
        click.echo(
            f"wsdiag: internal error: {type(exc).__name__}: {exc} (run again with --debug for the "
            "traceback, and please report it)",
            err=True,
        )
        code = ExitCode.CHECK_FAILED
    sys.exit(code if isinstance(code, int) else 0)
