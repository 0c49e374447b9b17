"""Option bundles written once and shared by the commands, and the glue every command needs.

Stdlib and click only (see ``wsdiag.cli``): imported on every start.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from wsdiag.checks import CheckOptions
from wsdiag.exit_codes import ExitCode
from wsdiag.models import Report, Status
from wsdiag.target import Target, TargetError, parse_target

if TYPE_CHECKING:
    from wsdiag.proxy import Proxy

F = TypeVar("F", bound=Callable[..., Any])


class Seconds(click.FloatRange):
    """A FloatRange that also refuses nan and inf (which pass every range comparison)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class FilePath(click.Path):
    """click.Path that turns what os.stat cannot take (a NUL byte) into a usage error."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except ValueError as exc:  # "embedded null byte"
            self.fail(f"{value!r} is not a usable file name ({exc})", param, ctx)


def _apply(fn: F, decorators: list[Callable[[F], F]]) -> F:
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def _parse_resolver(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[str, int] | None:
    if value is None:
        return None
    from wsdiag.checks.resolve import parse_resolver

    try:
        resolver: tuple[str, int] = parse_resolver(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return resolver


def server_options(fn: F) -> F:
    """Flags describing a self-hosted server and the app key, and the profile to start from."""
    return _apply(
        fn,
        [
            click.option(
                "--profile",
                envvar="WSDIAG_PROFILE",
                help="Start from this profile of the config file [env: WSDIAG_PROFILE].",
            ),
            click.option(
                "--config",
                "config_path",
                envvar="WSDIAG_CONFIG",
                type=FilePath(dir_okay=False),
                help="Config file [default: ~/.config/wsdiag/config.toml; env: WSDIAG_CONFIG].",
            ),
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
                help="Whether the server speaks TLS (wss://, https://) [default: TLS].",
            ),
            click.option("--key", metavar="KEY", help="App key [env: PUSHER_APP_KEY]."),
        ],
    )


def network_options(fn: F) -> F:
    """Timeouts and TLS trust, for every command that touches the network."""
    return _apply(
        fn,
        [
            click.option(
                "--timeout",
                type=Seconds(0.1, 120),
                default=5.0,
                show_default=True,
                help="Seconds to wait for each network step.",
            ),
            click.option(
                "--ca-bundle",
                # Not exists=True: wsdiag.trust says what is wrong with the file and how to fix it.
                type=FilePath(readable=False),
                metavar="FILE",
                help="PEM file of the CAs to trust (a private or corporate CA) [default: "
                "$SSL_CERT_FILE and/or $SSL_CERT_DIR, else $REQUESTS_CA_BUNDLE, else certifi's "
                "bundle].",
            ),
            click.option(
                "--insecure",
                is_flag=True,
                help="Do NOT verify TLS certificates. Results say so loudly.",
            ),
            click.option(
                "--proxy",
                metavar="URL",
                help="HTTP proxy to tunnel through (CONNECT), http://[user:pass@]host:port; "
                "'direct' for none [env: https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY, "
                "http_proxy; NO_PROXY lists hosts to reach directly].",
            ),
        ],
    )


def check_options(fn: F) -> F:
    """Knobs of the layered checks."""
    return _apply(
        fn,
        [
            click.option(
                "--resolver",
                metavar="IP[:PORT]",
                callback=_parse_resolver,
                help="DNS server to ask instead of the system's resolver.",
            ),
            click.option(
                "--pings",
                type=click.IntRange(0, 1000),
                default=5,
                show_default=True,
                help="pusher:ping round trips to time (0: none).",
            ),
        ],
    )


def report_options(fn: F) -> F:
    """Output formats of commands that produce a report."""
    return _apply(
        fn,
        [
            click.option(
                "--json",
                "as_json",
                is_flag=True,
                help="Print one JSON report on stdout (schema in the README).",
            ),
            click.option(
                "--junit",
                type=FilePath(dir_okay=False, writable=True),
                help="Also write a JUnit XML report (one testcase per stage and address).",
            ),
            click.option("-q", "--quiet", is_flag=True, help="Print only the verdict line."),
            click.option(
                "--fail-on",
                type=click.Choice(["fail", "warn"]),
                default="fail",
                show_default=True,
                help="Exit 1 on failures only, or on warnings too (strict pipelines).",
            ),
            click.option(
                "--max-latency-ms",
                type=Seconds(min=0, min_open=True),
                help="Fail when the ping or end-to-end p95 is slower than this.",
            ),
            click.option(
                "--debug",
                is_flag=True,
                help="Show tracebacks and the protocol trace (frames, HTTP), secrets masked.",
            ),
        ],
    )


def credential_options(fn: F) -> F:
    """App id, key and secret, and a Laravel-style .env file to read them from."""
    return _apply(
        fn,
        [
            click.option("--app-id", metavar="ID", help="App id [env: PUSHER_APP_ID]."),
            click.option(
                "--secret",
                metavar="SECRET",
                help="App secret [env: PUSHER_APP_SECRET]. Never printed: shown as abc… at most.",
            ),
            click.option(
                "--env-file",
                type=FilePath(exists=True, dir_okay=False),
                help="Read PUSHER_* settings from this .env file (the environment wins).",
            ),
        ],
    )


def load_profile(opts: dict[str, Any]) -> Any:
    """The profile chosen by --profile (or ``default``), warnings printed once on stderr."""
    if "_profile" in opts:
        return opts["_profile"]
    from pathlib import Path

    from wsdiag.config import ConfigError, default_path
    from wsdiag.config import load_profile as load

    path = Path(opts["config_path"]) if opts.get("config_path") else default_path()
    try:
        profile = load(path, opts.get("profile"), required=bool(opts.get("config_path")))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    for warning in profile.warnings:
        click.echo(f"warning: {warning}", err=True)
    opts["_profile"] = profile
    return profile


def environment(opts: dict[str, Any]) -> dict[str, str]:
    """``PUSHER_*`` settings: environment > ``--env-file`` > profile."""
    from wsdiag.config import profile_environment
    from wsdiag.credentials import CredentialsError, merged_environment

    merged = profile_environment(load_profile(opts))
    try:
        merged.update(merged_environment(os.environ, opts.get("env_file")))
    except CredentialsError as exc:
        raise click.UsageError(str(exc)) from None
    return merged


def target_from(opts: dict[str, Any]) -> Target:
    target_arg = opts.get("target")
    if target_arg == "-":  # tail/publish/channels: "take it from the flags or the environment"
        target_arg = None
    env = environment(opts)
    profile = load_profile(opts)
    named_elsewhere = any(
        env.get(name) and env.get(name) != profile.values.get(key)
        for name, key in (("PUSHER_HOST", "host"), ("PUSHER_APP_CLUSTER", "cluster"))
    )
    if not target_arg and not opts.get("host") and not named_elsewhere:
        target_arg = profile.values.get(
            "target"
        )  # lowest precedence: only when nothing else names one
    try:
        return parse_target(
            target_arg,
            host=opts.get("host"),
            port=opts.get("port"),
            tls=opts.get("tls"),
            key=opts.get("key"),
            env=env,
        )
    except TargetError as exc:
        raise click.UsageError(str(exc)) from None


def proxy_from(opts: dict[str, Any], target: Target) -> Proxy | None:
    """--proxy, else the proxy environment, unless NO_PROXY lists every host of the target."""
    from wsdiag.proxy import ProxySettingError, bypassed, parse_proxy, proxy_from_environment

    given = opts.get("proxy")
    try:
        if given is not None:
            if given.strip().lower() in ("", "direct", "none"):
                return None
            return parse_proxy(given)
        proxy = proxy_from_environment()
    except ProxySettingError as exc:
        raise click.BadParameter(str(exc), param_hint="--proxy") from None
    if proxy is not None and all(bypassed(host) for host in target.hosts):
        return None
    return proxy


class TrustSettingError(click.ClickException):
    """A CA bundle that cannot be loaded: a usage error on one line, before anything is sent."""

    exit_code = ExitCode.USAGE


def trust_from(opts: dict[str, Any], target: Target) -> None:
    """Load the CAs to trust once, up front (issue 9): a bad bundle is a usage error.

    --ca-bundle is checked even with --insecure (the user named it); the
    environment's bundles are not then, as nothing is verified. The source is
    kept as a note when it came from the environment and TLS is spoken.
    """
    from wsdiag.trust import TrustError, ca_source, check_source

    source = ca_source(opts.get("ca_bundle"))
    if opts.get("insecure") and source.from_environment:
        return
    try:
        check_source(source)
    except TrustError as exc:
        raise TrustSettingError(str(exc)) from None
    endpoints = [target.websocket, target.api, target.fallback, *target.alternates]
    auth_endpoint = str(opts.get("auth_endpoint") or "")
    speaks_tls = any(e and e.tls for e in endpoints) or auth_endpoint.startswith("https:")
    if source.from_environment and speaks_tls and not opts.get("insecure"):
        opts["_trust_note"] = f"trusting CAs from {source.label} (--ca-bundle FILE overrides)"


def check_options_from(
    opts: dict[str, Any], target: Target, *, announce_trust: bool = False
) -> CheckOptions:
    """The stages' options; ``announce_trust``: say on stderr where trusted CAs come from.

    Commands with a report get that as a note in the report instead (``finish_report``).
    """
    trust_from(opts, target)  # first: a usage error ends the run before any warning
    if opts.get("insecure"):
        click.echo(
            "WARNING: --insecure: TLS certificates are NOT verified; "
            "a working result proves nothing about the certificate.",
            err=True,
        )
    if announce_trust and opts.get("_trust_note"):
        click.echo(f"note: {opts['_trust_note']}", err=True)
    return CheckOptions(
        timeout=opts["timeout"],
        resolver=opts.get("resolver"),
        ca_bundle=opts.get("ca_bundle"),
        verify_tls=not opts.get("insecure"),
        ping_count=opts.get("pings", 5),
        proxy=proxy_from(opts, target),
    )


def exit_code_of(report: Report, fail_on: str = "fail") -> ExitCode:
    if report.interrupted:
        return ExitCode.INTERRUPTED
    if report.status is Status.FAIL or (fail_on == "warn" and report.status is Status.WARN):
        return ExitCode.CHECK_FAILED
    return ExitCode.OK


def make_report_renderer(opts: dict[str, Any], *, detailed: bool) -> Any:
    if opts.get("as_json") and opts.get("quiet"):
        raise click.UsageError("--json and --quiet cannot be used together")
    if opts.get("debug"):
        from wsdiag import trace

        trace.add_secret(opts.get("secret"))
        trace.enable()
    from wsdiag.render import make_renderer

    fmt = "json" if opts.get("as_json") else "quiet" if opts.get("quiet") else "console"
    return make_renderer(fmt, detailed=detailed, debug=bool(opts.get("debug")))


def finish_report(report: Report, renderer: Any, opts: dict[str, Any]) -> None:
    """Apply thresholds, render, write --junit and annotations, exit with the report's code."""
    if opts.get("_trust_note") and opts["_trust_note"] not in report.notes:
        report.notes.append(opts["_trust_note"])
    if opts.get("max_latency_ms") and not report.interrupted:
        from wsdiag.checks.thresholds import latency_findings

        for finding in latency_findings(report, opts["max_latency_ms"]):
            report.results.append(finding)
    code = exit_code_of(report, opts.get("fail_on") or "fail")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        from wsdiag.render.annotations import github_annotations

        # stdout is where Actions reads workflow commands, unless stdout carries --json.
        for line in github_annotations(report):
            click.echo(line, err=bool(opts.get("as_json")))
    renderer.finish(report, int(code))
    if opts.get("junit"):
        from wsdiag.render.junit import render_junit

        try:
            with open(opts["junit"], "w", encoding="utf-8") as out:
                out.write(render_junit(report))
        except OSError as exc:
            raise click.FileError(opts["junit"], exc.strerror) from None
    click.get_current_context().exit(int(code))
