"""``tail``, ``publish`` and ``channels``: the commands that work with channels and events.

TARGET is required here (it comes before the channel names); ``-`` means
"from --host/--port/--tls or the PUSHER_* environment and --env-file".
"""

from __future__ import annotations

import contextlib
import json
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from wsdiag.cli.complete import comma_list, complete_target_or_settings
from wsdiag.cli.options import (
    CredentialFlags,
    FilePath,
    Invocation,
    NetworkFlags,
    ReportFlags,
    Seconds,
    ServerFlags,
    credential_options,
    finish_report,
    make_report_renderer,
    network_options,
    report_options,
    server_options,
)
from wsdiag.models import Report
from wsdiag.records import record

if TYPE_CHECKING:
    from wsdiag.channels.signin import UserSigner
    from wsdiag.channels.tail import Authorizer
    from wsdiag.checks import CheckOptions
    from wsdiag.credentials import Credentials
    from wsdiag.environment import Environment

TARGET_ARGUMENT = click.argument(
    "target", metavar="TARGET", shell_complete=complete_target_or_settings
)


def credentials_for(run: Invocation, what: str) -> Credentials:
    """Complete credentials or a usage error naming what is missing; mistakes noted on stderr."""
    from wsdiag.credentials import CredentialsError

    creds = run.credentials()
    for warning in creds.warnings():
        click.echo(f"note: {warning}", err=True)  # as check's notes (issue 14)
    try:
        return creds.require(what)
    except CredentialsError as exc:
        raise click.UsageError(str(exc)) from None


def _read_data(data: str | None, env: Environment) -> str:
    """DATA as given, ``@file``, ``-`` or nothing with a pipe: stdin; nothing at a terminal: {}."""
    if data is not None and data.startswith("@"):
        try:
            with open(data[1:], encoding="utf-8") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise click.BadParameter(f"cannot read {data[1:]}: {exc}", param_hint="DATA") from None
    if data == "-" or (data is None and env.input_is_piped()):
        return env.input.read()
    return "{}" if data is None else data


def _read_batch(path: str, channels: list[str], event: str | None) -> list[Any]:
    """JSON lines ``{"channel", "name", "data"}``; CHANNEL and EVENT fill what a line omits."""
    from wsdiag.checks.api import OutgoingEvent

    events = []
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--batch") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise click.BadParameter(
                f"line {number} is not JSON: {exc}", param_hint="--batch"
            ) from None
        if not isinstance(item, dict):
            raise click.BadParameter(f"line {number} is not a JSON object", param_hint="--batch")
        channel = item.get("channel") or (channels[0] if channels else None)
        name = item.get("name") or event
        if not channel or not name:
            raise click.BadParameter(
                f"line {number} has no channel or name, and none was given on the command line",
                param_hint="--batch",
            )
        data = item.get("data", "{}")
        data = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        events.append(OutgoingEvent(str(channel), str(name), data, item.get("socket_id")))
    if not events:
        raise click.BadParameter(f"{path} holds no events", param_hint="--batch")
    return events


@click.command()
@TARGET_ARGUMENT
@click.argument("channels", required=False, metavar="CHANNEL[,CHANNEL...]")
@click.argument("event", required=False)
@click.argument("data", required=False)
@server_options
@credential_options
@click.option(
    "--batch",
    type=FilePath(exists=True, dir_okay=False),
    help="Publish the JSON lines of this file, 10 per request.",
)
@click.option("--socket-id", help="Exclude this connection from receiving the event.")
@click.option(
    "--info",
    shell_complete=comma_list("user_count", "subscription_count"),
    help="Ask for channel attributes back, e.g. user_count,subscription_count.",
)
@click.option(
    "--no-size-limit",
    is_flag=True,
    help="Allow data over Pusher's 10 KB (self-hosted servers may accept more).",
)
@click.option(
    "--encryption-master-key",
    metavar="BASE64",
    help="Encrypt data for private-encrypted- channels with this key, as the server "
    "libraries do (needs PyNaCl) [env: PUSHER_ENCRYPTION_MASTER_KEY]. Never printed.",
)
@network_options
@report_options
def publish(
    target: str,
    channels: str | None,
    event: str | None,
    data: str | None,
    server: ServerFlags,
    creds: CredentialFlags,
    batch: str | None,
    socket_id: str | None,
    info: str | None,
    no_size_limit: bool,
    encryption_master_key: str | None,
    network: NetworkFlags,
    report: ReportFlags,
) -> None:
    """Publish an event over the HTTP API and explain the reply.

    DATA is a string, @FILE, or - for stdin (stdin is read too when DATA is
    omitted and input is piped). Names and sizes are checked first; nothing
    is sent when they are invalid. Data for a private-encrypted- channel is
    encrypted with the encryption master key, as the server libraries do.

    \b
    Examples:
      wsdiag publish mt1 my-channel my-event '{"hello":"world"}'
      wsdiag publish - orders,audit order-shipped @order.json --env-file .env
      wsdiag publish ws://127.0.0.1:6001 --batch events.jsonl --app-id 1 --key k --secret s
      wsdiag publish - private-encrypted-chat msg '{"text":"hi"}' --encryption-master-key KEY
    """
    from wsdiag.checks.api import publish as publish_event
    from wsdiag.checks.api import publish_batch, seal, seal_events, validate_publish

    run = Invocation(server, creds, network)
    resolved = run.target(target)
    credentials = credentials_for(run, "publish")
    # Every comma-separated name is checked: "a,,b" or a trailing comma is a typo, not two.
    names = channels.split(",") if channels else []
    if socket_id:
        from wsdiag.pusher.signing import validate_socket_id

        if problem := validate_socket_id(socket_id):
            raise click.BadParameter(problem, param_hint="--socket-id")
    if batch:
        events = _read_batch(batch, names, event)
        master_key = _publish_master_key(run, encryption_master_key, [e.channel for e in events])
        events = seal_events(events, master_key)
        problems = [
            f"{e.channel}/{e.name}: {p}"
            for e in events
            for p in validate_publish([e.channel], e.name, e.data, size_limit=not no_size_limit)
        ]
    else:
        if not names or not event:
            raise click.UsageError("give CHANNEL and EVENT (or --batch FILE)")
        master_key = _publish_master_key(run, encryption_master_key, names)
        payload = seal(names, _read_data(data, run.env), master_key)
        problems = validate_publish(names, event, payload, size_limit=not no_size_limit)
    if problems:
        raise click.UsageError("nothing was sent: " + "; ".join(problems))
    options = run.check_options(resolved)
    outcome = Report(command="publish", target=resolved.label)
    renderer = make_report_renderer(report, detailed=True, secret=credentials.secret)
    renderer.start(outcome)
    try:
        if batch:
            results = publish_batch(resolved, credentials, events, options)
        else:
            results = [
                publish_event(
                    resolved,
                    credentials,
                    names,
                    event or "",  # checked above: no batch means an EVENT was given
                    payload,
                    options,
                    socket_id=socket_id,
                    info=info,
                )
            ]
        for result in results:
            outcome.results.append(result)
            renderer.on_result(result)
    except KeyboardInterrupt:
        outcome.interrupted = True
    finish_report(outcome, renderer, report, run)


def _publish_master_key(run: Invocation, flag: str | None, channels: list[str]) -> bytes | None:
    """The master key when a channel is ``private-encrypted-`` (None when none is).

    --encryption-master-key, else the PUSHER_ENCRYPTION_MASTER_KEY setting (env file,
    environment, profile). Missing or unusable: a usage error, before anything is sent.
    """
    from wsdiag.channels.encryption import is_encrypted, nacl_available, parse_master_key

    encrypted = [c for c in channels if is_encrypted(c)]
    if not encrypted:
        return None
    from wsdiag import trace

    setting = run.settings.get("encryption_master_key")
    text, source = (flag, "--encryption-master-key") if flag else (setting.value, setting.source)
    if not text:
        raise click.UsageError(
            f"{encrypted[0]} is an encrypted channel: give the app's encryption master key "
            "(base64, the server library's encryption_master_key_base64) with "
            "--encryption-master-key or PUSHER_ENCRYPTION_MASTER_KEY; nothing was sent"
        )
    trace.add_secret(text)
    trace.add_secret(text.strip())
    try:
        master_key = parse_master_key(text)
    except ValueError as exc:
        raise click.UsageError(f"{source}: {exc}; nothing was sent") from None
    if not nacl_available():
        raise click.UsageError(
            "encrypting needs PyNaCl: pip install 'wsdiag[encryption]' (or pip install pynacl)"
        )
    return master_key


@click.command()
@TARGET_ARGUMENT
@click.argument("channel", required=False)
@server_options
@credential_options
@click.option("--users", is_flag=True, help="List the users of a presence CHANNEL.")
@click.option("--prefix", help="Only channels whose name starts with this (e.g. presence-).")
@click.option(
    "--info",
    shell_complete=comma_list("user_count", "subscription_count", "cache"),
    help="Attributes to ask for: user_count, subscription_count, cache.",
)
@network_options
@report_options
def channels(
    target: str,
    channel: str | None,
    server: ServerFlags,
    creds: CredentialFlags,
    users: bool,
    prefix: str | None,
    info: str | None,
    network: NetworkFlags,
    report: ReportFlags,
) -> None:
    """Query the HTTP API: occupied channels, one channel, or a presence channel's users.

    \b
    Examples:
      wsdiag channels mt1 --env-file .env
      wsdiag channels mt1 --prefix presence- --info user_count
      wsdiag channels mt1 presence-room --users
    """
    from wsdiag.checks.api import query_channels
    from wsdiag.pusher.signing import validate_channel_name

    run = Invocation(server, creds, network)
    resolved = run.target(target)
    credentials = credentials_for(run, "channels")
    if channel and (problem := validate_channel_name(channel)):
        raise click.BadParameter(problem, param_hint="CHANNEL")
    if users and not (channel or "").startswith("presence-"):
        raise click.UsageError("--users needs a presence- CHANNEL")
    options = run.check_options(resolved)
    outcome = Report(command="channels", target=resolved.label)
    renderer = make_report_renderer(report, detailed=True, secret=credentials.secret)
    renderer.start(outcome)
    try:
        result = query_channels(
            resolved, credentials, options, channel=channel, users=users, prefix=prefix, info=info
        )
        outcome.results.append(result)
        renderer.on_result(result)
    except KeyboardInterrupt:
        outcome.interrupted = True
    finish_report(outcome, renderer, report, run)


def _auth_headers(values: tuple[str, ...]) -> list[tuple[str, str]]:
    headers = []
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            raise click.BadParameter(f"{value!r} is not 'Name: value'", param_hint="--auth-header")
        headers.append((name.strip(), content.strip()))
    return headers


@record
class AuthFlags:
    """How tail gets channel auth: the app's endpoint, or signing locally as this user."""

    endpoint: str | None
    headers: tuple[str, ...]
    user_id: str
    user_info: str | None


def _authorizer(
    flags: AuthFlags, key: str, secret: str | None, network: NetworkFlags, check: CheckOptions
) -> Authorizer | None:
    from wsdiag import trace
    from wsdiag.channels.auth import EndpointAuthorizer, LocalAuthorizer

    headers = _auth_headers(flags.headers)
    for _, value in headers:
        trace.add_secret(value)
    user_info = None
    if flags.user_info:
        try:
            user_info = json.loads(flags.user_info)
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--user-info") from None
        if not isinstance(user_info, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--user-info")
    if flags.endpoint:
        from urllib.parse import urlsplit

        from wsdiag.proxy import bypassed

        auth_host = urlsplit(flags.endpoint).hostname or ""
        return EndpointAuthorizer(
            flags.endpoint,
            key,
            headers,
            secret,
            check.timeout,
            network.ca_bundle,
            not network.insecure,
            proxy=None if bypassed(auth_host) else check.proxy,
        )
    if secret:
        return LocalAuthorizer(key, secret, flags.user_id, user_info)
    return None


@click.command()
@TARGET_ARGUMENT
@click.argument("channel_names", nargs=-1, required=True, metavar="CHANNEL...")
@server_options
@credential_options
@click.option(
    "--auth-endpoint",
    metavar="URL",
    help="The app's auth endpoint, called like pusher-js does (e.g. /broadcasting/auth).",
)
@click.option(
    "--auth-header",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="Header for the auth endpoint (repeatable): cookies, bearer tokens, CSRF.",
)
@click.option(
    "--user-id", default="wsdiag", show_default=True, help="Presence user id when signing locally."
)
@click.option("--user-info", metavar="JSON", help="Presence user info when signing locally.")
@click.option(
    "--signin",
    metavar="USER_JSON",
    help='Sign in as this user (pusher:signin, signed with --secret), e.g. \'{"id":"42"}\'.',
)
@click.option(
    "--user-auth-endpoint",
    metavar="URL",
    help="Sign in through the app's user-auth endpoint (pusher-js userAuthentication).",
)
@click.option(
    "--encryption-master-key",
    metavar="BASE64",
    help="Decrypt private-encrypted- channels (needs PyNaCl).",
)
@click.option(
    "--event",
    "events",
    multiple=True,
    metavar="GLOB",
    help="Only show events matching this glob (repeatable).",
)
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many events.")
@click.option(
    "--duration", type=Seconds(min=0, min_open=True), help="Stop after this many seconds."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="NDJSON on stdout: one object per event, written as events arrive.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Pretty-print each event's data below its line (default: compact, on the line).",
)
@click.option("--debug", is_flag=True, help="Trace every frame on stderr, secrets masked.")
@network_options
def tail(
    target: str,
    channel_names: tuple[str, ...],
    server: ServerFlags,
    creds: CredentialFlags,
    auth_endpoint: str | None,
    auth_header: tuple[str, ...],
    user_id: str,
    user_info: str | None,
    signin: str | None,
    user_auth_endpoint: str | None,
    encryption_master_key: str | None,
    events: tuple[str, ...],
    count: int | None,
    duration: float | None,
    as_json: bool,
    full: bool,
    debug: bool,
    network: NetworkFlags,
) -> None:
    """Watch channels live: events, presence members, connection states.

    Private and presence channels are signed locally with --secret or through
    the app's --auth-endpoint. Ctrl-C, --count or --duration end the run with a
    summary on stderr; the exit code is 1 if a subscription failed or it never connected.

    \b
    Examples:
      wsdiag tail mt1 my-channel --key KEY
      wsdiag tail - private-orders presence-room --env-file .env --json | jq .
      wsdiag tail mt1 private-chat --key KEY --auth-endpoint https://app.test/broadcasting/auth
    """
    from wsdiag.channels.tail import TailOptions, TailSession
    from wsdiag.exit_codes import ExitCode
    from wsdiag.pusher.signing import validate_channel_name

    if auth_endpoint:
        _check_endpoint_url(auth_endpoint, "--auth-endpoint")
    run = Invocation(server, creds, network)
    resolved = run.target(target)
    if not resolved.key:
        raise click.UsageError("tail needs the app key: --key or PUSHER_APP_KEY")
    for name in channel_names:
        if problem := validate_channel_name(name):
            raise click.BadParameter(problem, param_hint="CHANNEL")
    credentials = run.credentials()
    for warning in credentials.warnings():
        click.echo(f"note: {warning}", err=True)  # as check's notes (issue 14)
    # The flag, else the setting (PUSHER_ENCRYPTION_MASTER_KEY, env file, profile), as publish.
    master_key = _master_key(encryption_master_key or run.settings.value("encryption_master_key"))
    check = run.check_options(resolved, announce=True, auth_endpoint=auth_endpoint)
    _start_trace(debug, credentials.secret)
    renderer = _tail_renderer(as_json, full)
    auth = AuthFlags(auth_endpoint, auth_header, user_id, user_info)
    signer = _signer(
        signin, user_auth_endpoint, auth_header, resolved.key, credentials.secret, network, check
    )
    session = TailSession(
        resolved,
        TailOptions(
            channels=tuple(dict.fromkeys(channel_names)),
            authorizer=_authorizer(auth, resolved.key, credentials.secret, network, check),
            master_key=master_key,
            event_patterns=tuple(events),
            count=count,
            duration=duration,
            check=check,
            signer=signer,
        ),
        sink=renderer.on_event,
        flush=renderer.flush,
    )
    stopped_by: ExitCode | None = None
    previous = signal.signal(signal.SIGTERM, _raise_terminated)  # `kill`, docker stop, CI timeouts
    try:
        with _garbage_collected_less_often():
            summary = session.run()
    except KeyboardInterrupt as stop:
        stopped_by = ExitCode.TERMINATED if isinstance(stop, Terminated) else ExitCode.INTERRUPTED
        summary = session.summary
        summary.ended = summary.ended or None
    finally:
        signal.signal(signal.SIGTERM, previous)
    renderer.finish(summary)
    if stopped_by is not None:
        code = stopped_by
    else:
        code = ExitCode.CHECK_FAILED if summary.failed else ExitCode.OK
    click.get_current_context().exit(int(code))


@contextlib.contextmanager
def _garbage_collected_less_often() -> Iterator[None]:
    """Tail's objects per event are short-lived and free no cycles, so the cyclic collector
    has nothing to find in them; at its default threshold it runs every few hundred events of
    a burst all the same, and costs a third of tail's time (issue 13). Objects from start-up
    are frozen out of its scans; reference counting still frees every event at once. The
    settings are put back after (tail may run inside another program, as in the tests)."""
    import gc

    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _signer(
    user_json: str | None,
    endpoint: str | None,
    headers: tuple[str, ...],
    key: str,
    secret: str | None,
    network: NetworkFlags,
    check: CheckOptions,
) -> UserSigner | None:
    """--signin (signed locally) or --user-auth-endpoint: how tail signs in, if at all."""
    from wsdiag.channels.signin import EndpointSigner, LocalSigner

    if user_json and endpoint:
        raise click.UsageError("--signin and --user-auth-endpoint: give one (the endpoint decides)")
    if endpoint:
        _check_endpoint_url(endpoint, "--user-auth-endpoint")
        from urllib.parse import urlsplit

        from wsdiag.proxy import bypassed

        proxy = None if bypassed(urlsplit(endpoint).hostname or "") else check.proxy
        return EndpointSigner(
            endpoint,
            key,
            _auth_headers(headers),
            secret,
            check.timeout,
            network.ca_bundle,
            not network.insecure,
            proxy,
        )
    if not user_json:
        return None
    try:
        user = json.loads(user_json)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--signin") from None
    if not isinstance(user, dict) or not user.get("id"):
        raise click.BadParameter('must be a JSON object with an "id"', param_hint="--signin")
    if not secret:
        raise click.UsageError(
            "--signin signs with the app secret: pass --secret (or use --user-auth-endpoint)"
        )
    return LocalSigner(key, secret, user_json)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the main thread is so that tail ends as on Ctrl-C (issue 14)."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated


def _master_key(text: str | None) -> bytes | None:
    if not text:
        return None
    from wsdiag.channels.encryption import nacl_available, parse_master_key

    try:
        master_key = parse_master_key(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--encryption-master-key") from None
    if not nacl_available():
        raise click.UsageError(
            "decrypting needs PyNaCl: pip install 'wsdiag[encryption]' (or pip install pynacl)"
        )
    return master_key


def _start_trace(debug: bool, secret: str | None) -> None:
    if not debug:
        return
    from wsdiag import trace

    trace.add_secret(secret)
    trace.enable()


def _tail_renderer(as_json: bool, full: bool) -> Any:
    from wsdiag.render.stream import ConsoleTailRenderer, NdjsonTailRenderer

    if as_json:
        return NdjsonTailRenderer()
    return ConsoleTailRenderer(full=full)


COMMANDS: tuple[click.Command, ...] = (tail, publish, channels)


def _check_endpoint_url(url: str, option: str) -> None:
    """An app endpoint URL wsdiag can call: http(s), a host, a port that is a port."""
    from urllib.parse import urlsplit

    from wsdiag.target import masked_url

    if not url.startswith(("http://", "https://")):
        raise click.BadParameter("must be an http:// or https:// URL", param_hint=option)
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError as exc:  # a port that is not a number, or out of range
        raise click.BadParameter(f"{masked_url(url)!r}: {exc}", param_hint=option) from None
    if not parts.hostname or not port_ok:
        raise click.BadParameter(
            f"{masked_url(url)!r} has no usable host and port", param_hint=option
        )
