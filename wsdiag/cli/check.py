"""``check`` and the single-layer commands ``resolve``, ``reach``, ``tls``, ``connect``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from wsdiag.cli.options import (
    check_options,
    check_options_from,
    credential_options,
    environment,
    finish_report,
    make_report_renderer,
    network_options,
    report_options,
    server_options,
    target_from,
)
from wsdiag.models import Report, Stage


def run_stages(command: str, stages: Sequence[Stage], *, detailed: bool, **opts: Any) -> None:
    target = target_from(opts)
    credentials = _credentials(opts, target) if Stage.DELIVERY in stages else None
    options = check_options_from(opts, target)
    report = Report(command=command, target=target.label)
    if target.key and target.key.isdigit():
        report.notes.append(
            f"the key {target.key!r} is all digits: that looks like the app *id*, not the key"
        )
    renderer = make_report_renderer(opts, detailed=detailed)
    renderer.start(report)
    from wsdiag.checks.runner import check_target

    try:
        check_target(
            target, options, report, renderer.on_result, stages, credentials, opts.get("events", 5)
        )
    except KeyboardInterrupt:
        report.interrupted = True
    finish_report(report, renderer, opts)


def _credentials(opts: dict[str, Any], target: Any) -> Any:
    """Credentials for the end-to-end stages; incomplete ones are a usage error."""
    from wsdiag import trace
    from wsdiag.credentials import credentials_from

    creds = credentials_from(
        environment(opts), app_id=opts.get("app_id"), key=target.key, secret=opts.get("secret")
    )
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
    return click.argument("target", required=False, metavar="[TARGET]")(fn)


@click.command()
@layered
@credential_options
@click.option(
    "--events",
    type=click.IntRange(1, 100),
    default=5,
    show_default=True,
    help="Test events to publish and receive for end-to-end latency (with credentials).",
)
def check(**opts: Any) -> None:
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
      wsdiag check mt1 --env-file .env --max-latency-ms 300
    """
    run_stages("check", tuple(Stage), detailed=False, **opts)


@click.command()
@layered
def resolve(**opts: Any) -> None:
    """Resolve the target's hosts (A, AAAA, CNAME chain, TTLs).

    \b
    Examples:
      wsdiag resolve mt1
      wsdiag resolve mt1 --resolver 1.1.1.1
    """
    run_stages("resolve", (Stage.RESOLVE,), detailed=True, **opts)


@click.command()
@layered
def reach(**opts: Any) -> None:
    """Connect over TCP to every address on 443 and 80 (or the server's port).

    \b
    Examples:
      wsdiag reach mt1
      wsdiag reach --host soketi.internal --port 6001 --no-tls
    """
    run_stages("reach", (Stage.RESOLVE, Stage.REACH), detailed=True, **opts)


@click.command()
@layered
def tls(**opts: Any) -> None:
    """TLS handshake: version, cipher, ALPN and the certificate chain.

    \b
    Examples:
      wsdiag tls mt1
      wsdiag tls wss://ws.example.com:443 --ca-bundle corp-ca.pem
    """
    run_stages("tls", (Stage.RESOLVE, Stage.REACH, Stage.TLS), detailed=True, **opts)


@click.command()
@layered
def connect(**opts: Any) -> None:
    """WebSocket upgrade, Pusher handshake and ping round trips.

    \b
    Examples:
      wsdiag connect mt1 --key 278d425bdf160c739803
      wsdiag connect ws://127.0.0.1:6001 --key app-key --pings 20
    """
    stages = (Stage.RESOLVE, Stage.REACH, Stage.WEBSOCKET, Stage.PING)
    run_stages("connect", stages, detailed=True, **opts)


COMMANDS = (check, resolve, reach, tls, connect)
