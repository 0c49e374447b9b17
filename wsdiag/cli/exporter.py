"""``exporter``: a Prometheus exporter that runs a check per scrape (issue 12)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import click


def _listen_address(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"  # ":9479" listens everywhere, as Go exporters do
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise click.BadParameter(f"{value!r}: give HOST:PORT, such as 127.0.0.1:9479")
    return host, int(port)


class _Stop(Exception):
    """SIGTERM: stop serving, as on Ctrl-C."""


def _stop(signum: int, frame: Any) -> None:
    raise _Stop


@click.command()
@click.option(
    "--listen",
    default="127.0.0.1:9479",
    show_default=True,
    metavar="HOST:PORT",
    callback=_listen_address,
    help="Where to serve /probe and /metrics (:PORT listens on every address; port 0: a free "
    "one, printed at start).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The TOML file with [modules.NAME] tables (default: the profiles file, if any).",
)
@click.option(
    "--max-concurrent",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Probes running at once; more wait, then get 503.",
)
def exporter(listen: tuple[str, int], config_path: Path | None, max_concurrent: int) -> None:
    """Serve Prometheus probes: GET /probe?target=T&module=M runs one check.

    blackbox_exporter's conventions: probe_success, probe_duration_seconds,
    probe_dns_lookup_time_seconds, probe_ip_protocol,
    probe_ssl_earliest_cert_expiry, probe_tls_version_info, and wsdiag's own
    per-stage, per-phase, ping and delivery metrics. The probe's time is the
    scrape timeout (X-Prometheus-Scrape-Timeout-Seconds) less 0.5 s. Modules
    come from --config; without a module a probe checks connectivity as
    `wsdiag check TARGET` does without credentials. &debug=true answers with
    the report as text. GET /metrics: the exporter's own metrics. Try one
    probe with: curl 'http://127.0.0.1:9479/probe?target=mt1'

    \b
    Examples:
      wsdiag exporter --listen :9479
      wsdiag exporter --listen 127.0.0.1:9479 --config /etc/wsdiag/exporter.toml
    """
    from wsdiag.cli.options import current_environment
    from wsdiag.config import default_path
    from wsdiag.exit_codes import ExitCode
    from wsdiag.exporter.modules import ModuleError, load_modules
    from wsdiag.exporter.server import Exporter, make_server

    environ = current_environment().environ
    if config_path is None and default_path(environ).exists():
        config_path = default_path(environ)
    try:
        modules = load_modules(config_path)
    except ModuleError as exc:
        raise click.UsageError(str(exc)) from None
    host, port = listen
    try:
        server = make_server(Exporter(modules, environ, max_concurrent=max_concurrent), host, port)
    except OSError as exc:
        raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"wsdiag exporter on http://{shown}:{server.server_address[1]}/ "
        f"(modules: {', '.join(sorted(modules))}; config: {config_path or 'none'})",
        err=True,
    )
    previous = signal.signal(signal.SIGTERM, _stop)
    code = ExitCode.OK
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    except _Stop:
        code = ExitCode.TERMINATED
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
    click.echo("wsdiag exporter stopped", err=True)
    click.get_current_context().exit(int(code))


COMMANDS: tuple[click.Command, ...] = (exporter,)
