"""``check`` and the single-layer commands ``resolve``, ``reach``, ``tls``, ``connect``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from wsdiag.cli.complete import complete_target
from wsdiag.cli.options import (
    CheckFlags,
    CredentialFlags,
    Invocation,
    NetworkFlags,
    ReportFlags,
    ServerFlags,
    check_options,
    credential_options,
    events_option,
    finish_report,
    make_report_renderer,
    network_options,
    report_options,
    server_options,
    soak_option,
    transport_list,
)
from wsdiag.models import Report, Stage

if TYPE_CHECKING:
    from wsdiag.checks import CheckOptions
    from wsdiag.credentials import Credentials
    from wsdiag.models import PathSummary
    from wsdiag.target import Target


def run_stages(
    command: str,
    stages: Sequence[Stage],
    argument: str | None,
    *,
    detailed: bool,
    server: ServerFlags,
    network: NetworkFlags,
    checks: CheckFlags,
    report_flags: ReportFlags,
    creds: CredentialFlags | None = None,
    events: int = 5,
    soak: float = 0.0,
    transports: tuple[str, ...] | None = None,
    client: str | None = None,
    compare_direct: bool = False,
) -> None:
    run = Invocation(server, creds, network)
    target = run.target(argument)
    credentials = check_credentials(run) if Stage.DELIVERY in stages else None
    options = run.check_options(target, checks)
    if compare_direct and options.proxy is None:
        raise click.UsageError(
            "--compare-direct compares the proxy's path with the direct one: give --proxy, or "
            "set the proxy environment (HTTPS_PROXY, ALL_PROXY…)"
        )
    report = Report(command=command, target=target.label)
    from wsdiag.credentials import key_hint

    if hint := key_hint(target.key):
        report.notes.append(hint)
    report.notes.extend(_env_file_notes(run))
    secret = credentials.secret if credentials else None
    renderer = make_report_renderer(report_flags, detailed=detailed, secret=secret)
    renderer.start(report)
    from wsdiag.checks.runner import check_target

    try:
        check_target(
            target,
            options,
            report,
            renderer.on_result,
            stages,
            credentials,
            events,
            soak,
            transports,
            client,
        )
        if compare_direct and options.proxy is not None:
            report.comparison = _compare_direct(
                target, options, report, stages, credentials, events, transports
            )
    except KeyboardInterrupt:
        report.interrupted = True
    finish_report(report, renderer, report_flags, run)


def _compare_direct(
    target: Target,
    options: CheckOptions,
    report: Report,
    stages: Sequence[Stage],
    credentials: Credentials | None,
    events: int,
    transports: tuple[str, ...] | None,
) -> tuple[PathSummary, ...]:
    """The same check again without the proxy: which path works, and how fast each is."""
    from dataclasses import replace

    from wsdiag.checks.runner import check_target, path_summary

    assert options.proxy is not None
    direct = Report(command=report.command, target=report.target)
    direct_options = replace(options, proxy=None)
    check_target(
        target, direct_options, direct, None, stages, credentials, events, transports=transports
    )
    return (
        path_summary(report, f"proxy {options.proxy.label}"),
        path_summary(direct, "direct"),
    )


def _env_file_notes(run: Invocation) -> list[str]:
    """What env-lint finds in the --env-file without connecting anywhere, as notes."""
    env_file = run.creds.env_file
    if not env_file:
        return []
    from wsdiag.credentials import CredentialsError, read_env_file
    from wsdiag.envlint import lint
    from wsdiag.models import Status

    try:
        values = read_env_file(env_file, all_keys=True)
    except CredentialsError:
        return []  # the settings said so already
    return [
        f"{env_file}: {finding.summary} (`wsdiag env-lint --env-file {env_file}` says why)"
        for finding in lint(values)
        if finding.status is not Status.OK
    ]


def check_credentials(run: Invocation) -> Credentials | None:
    """Credentials for the end-to-end stages; incomplete ones are a usage error."""
    from wsdiag import trace

    creds = run.credentials()
    trace.add_secret(creds.secret)
    if not (creds.app_id or creds.secret):
        return None  # nothing but a key: the layered check without the API stages
    missing = [
        n
        for n, v in (("--app-id", creds.app_id), ("--key", creds.key), ("--secret", creds.secret))
        if not v
    ]
    if missing:
        raise click.UsageError(
            f"the end-to-end checks need --app-id, --key and --secret; missing {', '.join(missing)}"
        )
    return creds


def layered(fn: Any) -> Any:
    """The options every layered command takes."""
    fn = report_options(fn)
    fn = check_options(fn)
    fn = network_options(fn)
    fn = server_options(fn)
    return click.argument(
        "target", required=False, metavar="[TARGET]", shell_complete=complete_target
    )(fn)


@click.command()
@layered
@credential_options
@events_option(5)
@soak_option(
    "Then hold idle connections this long to find the path's idle timeout (as wsdiag soak)."
)
@click.option(
    "--enabled-transports",
    "transports",
    callback=transport_list,
    metavar="LIST",
    help="The client's enabledTransports, comma-separated (ws,wss,xhr_streaming,xhr_polling): "
    "without an xhr_ one the HTTP fallback is not checked. Default: pusher-js's, all of them.",
)
@click.option(
    "--compare-direct",
    is_flag=True,
    help="With a proxy: also run the check without it, and compare which path works and "
    "how fast each is.",
)
@click.option(
    "--client",
    type=click.Choice(["pusher-js", "laravel-echo", "none"]),
    default="pusher-js",
    show_default=True,
    help="After the verdict, the configuration of this client that works from here, "
    "ready to paste; none: leave it out.",
)
def check(
    target: str | None,
    server: ServerFlags,
    network: NetworkFlags,
    checks: CheckFlags,
    report: ReportFlags,
    creds: CredentialFlags,
    events: int,
    soak: float,
    transports: tuple[str, ...] | None,
    compare_direct: bool,
    client: str,
) -> None:
    """Check every layer: DNS, TCP, TLS, WebSocket, Pusher handshake, ping.

    TARGET is a cluster name (mt1, eu, ap2…) or a self-hosted server URL
    (wss://host:port, ws://host:port). Without TARGET: --host, or the
    PUSHER_HOST / PUSHER_APP_CLUSTER environment variables. Without --key,
    a 4001 reply to a placeholder key proves the path to Pusher works.
    With --app-id, --key and --secret (or PUSHER_* settings) check also
    calls the HTTP API, subscribes to a private channel and measures
    end-to-end latency of published events.

    \b
    Examples:
      wsdiag check mt1
      wsdiag check eu --key 278d425bdf160c739803 --json
      wsdiag check ws://127.0.0.1:6001 --key app-key --junit wsdiag.xml
      wsdiag check mt1 --env-file .env --max-latency-ms 300 --soak 180
    """
    run_stages(
        "check",
        tuple(Stage),
        target,
        detailed=False,
        server=server,
        network=network,
        checks=checks,
        report_flags=report,
        creds=creds,
        events=events,
        soak=soak,
        transports=transports,
        client=None if client == "none" else client,
        compare_direct=compare_direct,
    )


def _one_layer(name: str, layers: tuple[Stage, ...], help_text: str) -> click.Command:
    """A command that runs the stages up to one layer and shows each in full detail."""

    def command(
        target: str | None,
        server: ServerFlags,
        network: NetworkFlags,
        checks: CheckFlags,
        report: ReportFlags,
    ) -> None:
        run_stages(
            name,
            layers,
            target,
            detailed=True,
            server=server,
            network=network,
            checks=checks,
            report_flags=report,
        )

    command.__doc__ = help_text
    return click.command(name)(layered(command))


resolve = _one_layer(
    "resolve",
    (Stage.RESOLVE,),
    """Resolve the target's hosts (A, AAAA, CNAME chain, TTLs).

    \b
    Examples:
      wsdiag resolve mt1
      wsdiag resolve mt1 --resolver 1.1.1.1
    """,
)
reach = _one_layer(
    "reach",
    (Stage.RESOLVE, Stage.REACH),
    """Connect over TCP to every address on 443 and 80 (or the server's port).

    \b
    Examples:
      wsdiag reach mt1
      wsdiag reach --host soketi.internal --port 6001 --no-tls
    """,
)
tls = _one_layer(
    "tls",
    (Stage.RESOLVE, Stage.REACH, Stage.TLS),
    """TLS handshake: version, cipher, ALPN and the certificate chain.

    \b
    Examples:
      wsdiag tls mt1
      wsdiag tls wss://ws.example.com:443 --ca-bundle corp-ca.pem
    """,
)
connect = _one_layer(
    "connect",
    (Stage.RESOLVE, Stage.REACH, Stage.WEBSOCKET, Stage.PING),
    """WebSocket upgrade, Pusher handshake and ping round trips.

    \b
    Examples:
      wsdiag connect mt1 --key 278d425bdf160c739803
      wsdiag connect ws://127.0.0.1:6001 --key app-key --pings 20
    """,
)


COMMANDS = (check, resolve, reach, tls, connect)
