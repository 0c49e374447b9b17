"""Option bundles written once and shared by the commands, each folded into a typed record.

A bundle decorator adds its click options and hands the command one frozen
record (``ServerFlags``, ``NetworkFlags`` …) instead of loose keyword
arguments, so every command has a typed signature. ``Invocation`` then builds
the settings once from those flags, the environment, ``--env-file`` and the
profile (``wsdiag.settings``), and everything a command needs from them.

Stdlib and click only (see ``wsdiag.cli``): imported on every start.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from wsdiag.checks import CheckOptions
from wsdiag.cli.complete import complete_profile
from wsdiag.environment import Environment
from wsdiag.exit_codes import ExitCode
from wsdiag.models import Report, Status
from wsdiag.records import record
from wsdiag.target import Target, TargetError

if TYPE_CHECKING:
    from wsdiag.config import Profile
    from wsdiag.credentials import Credentials
    from wsdiag.proxy import Proxy
    from wsdiag.render import Renderer
    from wsdiag.settings import Settings

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


# ------------------------------------------------------------------ the records


@record
class ServerFlags:
    profile: str | None = None
    config_path: str | None = None
    host: str | None = None
    port: int | None = None
    tls: bool | None = None
    key: str | None = None


@record
class CredentialFlags:
    app_id: str | None = None
    secret: str | None = None
    env_file: str | None = None


@record
class NetworkFlags:
    timeout: float = 5.0
    ca_bundle: str | None = None
    insecure: bool = False
    proxy: str | None = None
    origin: str | None = None


@record
class CheckFlags:
    resolver: tuple[str, int] | None = None
    pings: int = 5


@record
class ReportFlags:
    as_json: bool = False
    junit: str | None = None
    quiet: bool = False
    output_format: str | None = None  # --format; --json and -q are its shorthands
    markdown: str | None = None  # --markdown FILE: the report as Markdown beside stdout's

    @property
    def stdout_format(self) -> str:
        """console, json, markdown or quiet: what stdout carries (a conflict is a usage error)."""
        asked = {self.output_format} if self.output_format else set()
        asked |= {"json"} if self.as_json else set()
        asked |= {"quiet"} if self.quiet else set()
        if len(asked) > 1:
            both = ", ".join(sorted(asked))
            raise click.UsageError(f"--json, --quiet and --format cannot be used together: {both}")
        return asked.pop() if asked else "console"

    fail_on: str = "fail"
    max_latency_ms: float | None = None
    debug: bool = False


def _apply(fn: F, decorators: list[Callable[[F], F]]) -> F:
    for decorator in reversed(decorators):
        fn = decorator(fn)
    return fn


def _bundle(record: type[Any], name: str, options: list[Callable[[F], F]]) -> Callable[[F], F]:
    """Add ``options`` to a command and pass their values as one ``record`` named ``name``."""
    fields = [f.name for f in dataclasses.fields(record)]

    def decorator(fn: F) -> F:
        @functools.wraps(fn)
        def folded(*args: Any, **kwargs: Any) -> Any:
            kwargs[name] = record(**{f: kwargs.pop(f) for f in fields})
            return fn(*args, **kwargs)

        return _apply(cast(F, folded), options)

    return decorator


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
    options: list[Callable[[F], F]] = [
        click.option(
            "--profile",
            envvar="WSDIAG_PROFILE",
            shell_complete=complete_profile,
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
    ]
    return _bundle(ServerFlags, "server", options)(fn)


def network_options(fn: F) -> F:
    """Timeouts, TLS trust and the proxy, for every command that touches the network."""
    options: list[Callable[[F], F]] = [
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
            help="Proxy to tunnel through: http://[user:pass@]host:port (CONNECT), "
            "socks5h:// (the proxy resolves names), socks5://, socks4a://, socks4://; "
            "'direct' for none [env: https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY, "
            "http_proxy; NO_PROXY lists hosts to reach directly].",
        ),
        click.option(
            "--origin",
            metavar="URL",
            callback=_parse_origin,
            help="The Origin header of WebSocket upgrades, as a browser on that page sends it "
            "(https://app.example.com) [default: the target's own scheme and host].",
        ),
    ]
    return _bundle(NetworkFlags, "network", options)(fn)


def _parse_origin(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An origin is scheme://host[:port], nothing after: what a browser puts in Origin."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise click.BadParameter(
            f"{value!r}: give an origin as a browser sends it, such as https://app.example.com"
        )
    return f"{parts.scheme}://{parts.netloc}"


def check_options(fn: F) -> F:
    """Knobs of the layered checks."""
    options: list[Callable[[F], F]] = [
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
    ]
    return _bundle(CheckFlags, "checks", options)(fn)


def _check_junit_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A --junit FILE that could not be written at the end is a usage error now (issue 14)."""
    if value is None or value == "-" or ctx.resilient_parsing:
        return value
    if problem := unwritable(value):
        raise click.BadParameter(problem)
    return value


def unwritable(path: str) -> str | None:
    """Why ``path`` cannot be written, or None: tried for real (ACLs, read-only mounts, root)."""
    import os

    try:
        if not os.path.lexists(path):
            parent = os.path.dirname(path) or "."
            if not os.path.isdir(parent):
                why = "is not a directory" if os.path.exists(parent) else "does not exist"
                return f"cannot write {path}: {parent} {why}"
            with open(path, "x", encoding="utf-8"):
                pass
            os.unlink(path)  # leave no trace: a run stopped by a usage error writes nothing
        elif os.path.isfile(path):
            with open(path, "a", encoding="utf-8"):  # opened for writing, left unchanged
                pass
        elif not os.access(path, os.W_OK):  # a device or a FIFO: opening it could block
            return f"cannot write {path}: permission denied"
    except OSError as exc:
        return f"cannot write {path}: {exc.strerror or exc}"
    return None


def report_options(fn: F) -> F:
    """Output formats of commands that produce a report."""
    options: list[Callable[[F], F]] = [
        click.option(
            "--json",
            "as_json",
            is_flag=True,
            help="Print one JSON report on stdout (schema in the README).",
        ),
        click.option(
            "--junit",
            type=FilePath(dir_okay=False, writable=True, allow_dash=True),
            callback=_check_junit_path,
            metavar="FILE",
            help="Also write a JUnit XML report (one testcase per stage and address); "
            "'-': on stdout, the report then on stderr. Checked before anything runs.",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print only the verdict line."),
        click.option(
            "--format",
            "output_format",
            type=click.Choice(["console", "json", "markdown", "quiet"]),
            help="What stdout carries (--json and -q are shorthands); markdown: for job "
            "summaries and issue comments.",
        ),
        click.option(
            "--markdown",
            type=FilePath(dir_okay=False, writable=True),
            callback=_check_junit_path,
            metavar="FILE",
            help="Also write the report as Markdown (e.g. to $GITHUB_STEP_SUMMARY).",
        ),
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
    ]
    return _bundle(ReportFlags, "report", options)(fn)


def events_option(default: int) -> Callable[[F], F]:
    """``--events K``: the end-to-end test events of one check."""
    return click.option(
        "--events",
        type=click.IntRange(1, 100),
        default=default,
        show_default=True,
        help="Test events to publish and receive for end-to-end latency (with credentials).",
    )


def soak_option(help_text: str) -> Callable[[F], F]:
    """``--soak SECONDS``: then hold idle connections that long (as ``wsdiag soak``)."""
    return click.option(
        "--soak",
        type=Seconds(min=0, max=3600),
        default=0,
        metavar="SECONDS",
        help=help_text,
    )


def check_run_options(fn: F) -> F:
    """Everything a command that runs the whole check takes besides its output: the server,
    the network, the checks' knobs and the credentials (``watch``, ``bundle``)."""
    return server_options(network_options(check_options(credential_options(fn))))


def credential_options(fn: F) -> F:
    """App id, key and secret, and a Laravel-style .env file to read them from."""
    options: list[Callable[[F], F]] = [
        click.option("--app-id", metavar="ID", help="App id [env: PUSHER_APP_ID]."),
        click.option(
            "--secret",
            metavar="SECRET",
            help="App secret [env: PUSHER_APP_SECRET]. Never printed: shown as abc… at most.",
        ),
        click.option(
            "--env-file",
            type=FilePath(exists=True, dir_okay=False),
            help="Read PUSHER_* settings from this .env file (it wins over the environment).",
        ),
    ]
    return _bundle(CredentialFlags, "creds", options)(fn)


# ------------------------------------------------------------------ the run


def current_environment() -> Environment:
    """The Environment ``main`` put on the click context (the process's when there is none)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return obj if isinstance(obj, Environment) else Environment.from_process()


class TrustSettingError(click.ClickException):
    """A CA bundle that cannot be loaded: a usage error on one line, before anything is sent."""

    exit_code = ExitCode.USAGE


class Invocation:
    """One command's run: its flags, the environment, and the settings built once from both."""

    def __init__(
        self,
        server: ServerFlags,
        creds: CredentialFlags | None = None,
        network: NetworkFlags | None = None,
    ) -> None:
        self.server = server
        self.creds = creds or CredentialFlags()
        self.network = network or NetworkFlags()
        self.env = current_environment()
        self.notes: list[str] = []  # said once, in the report (or on stderr for tail)

    @cached_property
    def profile(self) -> Profile:
        """The profile chosen by --profile (or ``default``), its warnings printed once."""
        from pathlib import Path

        from wsdiag.config import ConfigError, default_path, load_profile

        path = Path(self.server.config_path) if self.server.config_path else default_path()
        try:
            profile = load_profile(
                path, self.server.profile, required=bool(self.server.config_path)
            )
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from None
        for warning in profile.warnings:
            click.echo(f"warning: {warning}", err=True)
        return profile

    @cached_property
    def settings(self) -> Settings:
        from wsdiag.credentials import CredentialsError
        from wsdiag.settings import resolve_settings

        flags = {
            "app_id": self.creds.app_id,
            "key": self.server.key,
            "secret": self.creds.secret,
            "host": self.server.host,
            "port": str(self.server.port) if self.server.port else None,
        }
        try:
            return resolve_settings(flags, self.env.environ, self.creds.env_file, self.profile)
        except CredentialsError as exc:
            raise click.UsageError(str(exc)) from None

    def target(self, argument: str | None) -> Target:
        """The target, as every command and ``config show`` resolve it; ``-``: from settings."""
        try:
            target, _ = self.settings.target(
                None if argument == "-" else argument, tls=self.server.tls, port=self.server.port
            )
        except TargetError as exc:
            raise click.UsageError(str(exc)) from None
        return target

    def credentials(self) -> Credentials:
        return self.settings.credentials()

    def proxy(self, target: Target) -> Proxy | None:
        """--proxy, else the proxy environment, unless NO_PROXY lists every host of the target."""
        from wsdiag.proxy import ProxySettingError, bypassed, parse_proxy, proxy_from_environment

        given = self.network.proxy
        try:
            if given is not None:
                if given.strip().lower() in ("", "direct", "none"):
                    return None
                return parse_proxy(given)
        except ProxySettingError as exc:
            raise click.BadParameter(str(exc), param_hint="--proxy") from None
        try:
            proxy = proxy_from_environment(self.env.environ)
        except ProxySettingError as exc:
            # The user never passed --proxy: the message names the variable (issue 11 §5).
            raise click.UsageError(f"{exc} (or --proxy direct to ignore it)") from None
        if proxy is not None and all(bypassed(h, self.env.environ) for h in target.hosts):
            return None
        return proxy

    def check_trust(self, target: Target, auth_endpoint: str | None = None) -> None:
        """Load the CAs to trust once, up front (issue 9): a bad bundle is a usage error.

        --ca-bundle is checked even with --insecure (the user named it); the
        environment's bundles are not then, as nothing is verified, nor for a run
        that speaks no TLS (ws:// and http:// only), which never reads them. The source
        is kept as a note when it came from the environment and TLS is spoken.
        """
        from wsdiag.trust import Origin, TrustError, ca_source, check_source

        source = ca_source(self.network.ca_bundle, self.env.environ)
        if self.network.insecure and source.from_environment:
            return
        endpoints = [target.websocket, target.api, target.fallback, *target.alternates]
        speaks_tls = any(e and e.tls for e in endpoints) or (auth_endpoint or "").startswith(
            "https:"
        )
        if source.from_environment and not speaks_tls:
            return  # the shell's bundle is not used by a run that speaks no TLS: not judged
        if source.origin is Origin.CERTIFI:
            # Our own dependency, not the user's file: nothing to judge up front. When TLS
            # will be spoken, load it on a daemon thread while DNS and TCP run; the TLS
            # stage then finds it built (trust caches it; issue 13: set-up off the path).
            if speaks_tls and not self.network.insecure:
                from wsdiag.concurrency import Pending

                Pending(_warm, source, name="wsdiag-trust")
            return
        try:
            check_source(source)
        except TrustError as exc:
            raise TrustSettingError(str(exc)) from None
        if source.from_environment and speaks_tls and not self.network.insecure:
            self.notes.append(f"trusting CAs from {source.label} (--ca-bundle FILE overrides)")

    def check_options(
        self,
        target: Target,
        checks: CheckFlags | None = None,
        *,
        announce: bool = False,
        auth_endpoint: str | None = None,
    ) -> CheckOptions:
        """The stages' options; ``announce``: say the notes on stderr now (tail has no report)."""
        checks = checks or CheckFlags()
        self.check_trust(target, auth_endpoint)  # first: a usage error ends the run at once
        if self.network.insecure:
            click.echo(
                "WARNING: --insecure: TLS certificates are NOT verified; "
                "a working result proves nothing about the certificate.",
                err=True,
            )
        if announce:
            for note in self.notes:
                click.echo(f"note: {note}", err=True)
        return CheckOptions(
            timeout=self.network.timeout,
            resolver=checks.resolver,
            ca_bundle=self.network.ca_bundle,
            verify_tls=not self.network.insecure,
            ping_count=checks.pings,
            proxy=self.proxy(target),
            origin=self.network.origin,
        )


def _warm(source: Any) -> None:
    """Build the TLS context ahead of the TLS stage; its errors surface there, not here."""
    from wsdiag.trust import TrustError, check_source

    with contextlib.suppress(TrustError, OSError):
        check_source(source)


def exit_code_of(report: Report, fail_on: str = "fail") -> ExitCode:
    if report.interrupted:
        return ExitCode.INTERRUPTED
    if report.status is Status.FAIL or (fail_on == "warn" and report.status is Status.WARN):
        return ExitCode.CHECK_FAILED
    return ExitCode.OK


def make_report_renderer(
    flags: ReportFlags, *, detailed: bool, secret: str | None = None
) -> Renderer:
    fmt = flags.stdout_format
    if flags.debug:
        from wsdiag import trace

        trace.add_secret(secret)
        trace.enable()
    junit_on_stdout = flags.junit == "-"
    if fmt in ("json", "markdown") and junit_on_stdout:
        raise click.UsageError(f"--{fmt} and --junit - both write to stdout: give --junit a FILE")
    from wsdiag.render import make_renderer

    # --junit -: the XML is all stdout carries; the human report goes to stderr.
    renderer = make_renderer(fmt, detailed=detailed, debug=flags.debug, stderr=junit_on_stdout)
    if not flags.junit:
        return renderer
    from wsdiag.render.junit import JunitRecorder

    return JunitRecorder(renderer)  # times each result as it arrives, for the XML


def finish_report(report: Report, renderer: Renderer, flags: ReportFlags, run: Invocation) -> None:
    """Apply thresholds, render, write --junit and annotations, exit with the report's code."""
    report.notes.extend(n for n in run.notes if n not in report.notes)
    if flags.max_latency_ms and not report.interrupted:
        from wsdiag.checks.thresholds import latency_findings

        for finding in latency_findings(report, flags.max_latency_ms):
            report.results.append(finding)
    code = exit_code_of(report, flags.fail_on)
    if run.env.environ.get("GITHUB_ACTIONS") == "true":
        from wsdiag.render.annotations import github_annotations

        # stdout is where Actions reads workflow commands, unless it carries a document.
        for line in github_annotations(report):
            click.echo(line, err=flags.stdout_format != "console" or flags.junit == "-")
    unwritten: OSError | None = None
    if flags.junit:
        # Before the console report: the suite's time is the run's, and a reader
        # that leaves early (`| head`) or a second Ctrl-C cannot cost the file.
        from wsdiag.render.junit import JunitRecorder, render_junit

        timeline = renderer.timeline if isinstance(renderer, JunitRecorder) else None
        xml = render_junit(report, exit_code=int(code), timeline=timeline)
        if flags.junit == "-":
            click.echo(xml, nl=False)
        else:
            try:
                with open(flags.junit, "w", encoding="utf-8") as out:
                    out.write(xml)
            except OSError as exc:
                unwritten = exc
    if flags.markdown and unwritten is None:
        from wsdiag.render.markdown import render_markdown

        try:
            with open(flags.markdown, "w", encoding="utf-8") as out:
                out.write(render_markdown(report))
        except OSError as exc:
            unwritten = exc
    renderer.finish(report, int(code))
    if unwritten is not None:
        raise click.FileError(unwritten.filename or "", unwritten.strerror)
    click.get_current_context().exit(int(code))


TRANSPORT_NAMES = ("ws", "wss", "xhr_streaming", "xhr_polling")


def transport_list(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[str, ...] | None:
    """``--enabled-transports ws,wss``: pusher-js's transport names, comma-separated."""
    if value is None:
        return None
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    unknown = [n for n in names if n not in TRANSPORT_NAMES]
    if unknown or not names:
        raise click.BadParameter(
            f"{', '.join(unknown) or 'nothing'}: not a pusher-js transport "
            f"(use {', '.join(TRANSPORT_NAMES)})",
            ctx,
            param,
        )
    return names


def progress_on_stderr(as_json: bool) -> Callable[[str], None]:
    """A long command's progress lines: on a terminal's stderr only, never beside JSON."""
    import sys

    def progress(text: str) -> None:
        if sys.stderr.isatty() and not as_json:
            click.echo(f"… {text}", err=True)

    return progress


def finish_document(as_json: bool, document: Any, lines: Sequence[str], code: int) -> None:
    """Print a command's own document (JSON) or its lines, and exit with ``code``."""
    import json

    if as_json:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        click.echo("\n".join(lines))
    click.get_current_context().exit(code)
