"""``tail``, ``publish`` and ``channels``: the commands that work with channels and events.

TARGET is required here (it comes before the channel names); ``-`` means
"from --host/--port/--tls or the PUSHER_* environment and --env-file".
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from wsdiag.cli.options import (
    FilePath,
    Seconds,
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
from wsdiag.models import Report

TARGET_ARGUMENT = click.argument("target", metavar="TARGET")


def credentials_for(opts: dict[str, Any], what: str) -> Any:
    """Complete credentials or a usage error naming what is missing; mistakes noted on stderr."""
    from wsdiag.credentials import CredentialsError, credentials_from

    creds = credentials_from(
        environment(opts), app_id=opts.get("app_id"), key=opts.get("key"), secret=opts.get("secret")
    )
    for warning in creds.warnings():
        click.echo(f"warning: {warning}", err=True)
    try:
        return creds.require(what)
    except CredentialsError as exc:
        raise click.UsageError(str(exc)) from None


def _read_data(data: str | None) -> str:
    """DATA as given, ``@file``, ``-`` or nothing with a pipe: stdin; nothing at a terminal: {}."""
    if data is not None and data.startswith("@"):
        try:
            with open(data[1:], encoding="utf-8") as handle:
                return handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise click.BadParameter(f"cannot read {data[1:]}: {exc}", param_hint="DATA") from None
    if data == "-" or (data is None and not sys.stdin.isatty()):
        return sys.stdin.read()
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
@click.option("--info", help="Ask for channel attributes back, e.g. user_count,subscription_count.")
@click.option(
    "--no-size-limit",
    is_flag=True,
    help="Allow data over Pusher's 10 KB (self-hosted servers may accept more).",
)
@network_options
@report_options
def publish(**opts: Any) -> None:
    """Publish an event over the HTTP API and explain the reply.

    DATA is a string, @FILE, or - for stdin (stdin is read too when DATA is
    omitted and input is piped). Names and sizes are checked first; nothing
    is sent when they are invalid.

    \b
    Examples:
      wsdiag publish mt1 my-channel my-event '{"hello":"world"}'
      wsdiag publish - orders,audit order-shipped @order.json --env-file .env
      wsdiag publish ws://127.0.0.1:6001 --batch events.jsonl --app-id 1 --key k --secret s
    """
    from wsdiag.checks.api import publish as publish_event
    from wsdiag.checks.api import publish_batch, validate_publish

    target = target_from(opts)
    creds = credentials_for(opts, "publish")
    channels = [c for c in (opts["channels"] or "").split(",") if c]
    if opts["socket_id"]:
        from wsdiag.pusher.signing import validate_socket_id

        if problem := validate_socket_id(opts["socket_id"]):
            raise click.BadParameter(problem, param_hint="--socket-id")
    if opts["batch"]:
        events = _read_batch(opts["batch"], channels, opts["event"])
        problems = [
            f"{e.channel}/{e.name}: {p}"
            for e in events
            for p in validate_publish(
                [e.channel], e.name, e.data, size_limit=not opts["no_size_limit"]
            )
        ]
    else:
        if not channels or not opts["event"]:
            raise click.UsageError("give CHANNEL and EVENT (or --batch FILE)")
        data = _read_data(opts["data"])
        problems = validate_publish(
            channels, opts["event"], data, size_limit=not opts["no_size_limit"]
        )
    if problems:
        raise click.UsageError("nothing was sent: " + "; ".join(problems))
    options = check_options_from(opts, target)
    report = Report(command="publish", target=target.label)
    renderer = make_report_renderer(opts, detailed=True)
    renderer.start(report)
    try:
        if opts["batch"]:
            results = publish_batch(target, creds, events, options)
        else:
            results = [
                publish_event(
                    target,
                    creds,
                    channels,
                    opts["event"],
                    data,
                    options,
                    socket_id=opts["socket_id"],
                    info=opts["info"],
                )
            ]
        for result in results:
            report.results.append(result)
            renderer.on_result(result)
    except KeyboardInterrupt:
        report.interrupted = True
    finish_report(report, renderer, opts)


@click.command()
@TARGET_ARGUMENT
@click.argument("channel", required=False)
@server_options
@credential_options
@click.option("--users", is_flag=True, help="List the users of a presence CHANNEL.")
@click.option("--prefix", help="Only channels whose name starts with this (e.g. presence-).")
@click.option("--info", help="Attributes to ask for: user_count, subscription_count, cache.")
@network_options
@report_options
def channels(**opts: Any) -> None:
    """Query the HTTP API: occupied channels, one channel, or a presence channel's users.

    \b
    Examples:
      wsdiag channels mt1 --env-file .env
      wsdiag channels mt1 --prefix presence- --info user_count
      wsdiag channels mt1 presence-room --users
    """
    from wsdiag.checks.api import query_channels
    from wsdiag.pusher.signing import validate_channel_name

    target = target_from(opts)
    creds = credentials_for(opts, "channels")
    channel = opts["channel"]
    if channel and (problem := validate_channel_name(channel)):
        raise click.BadParameter(problem, param_hint="CHANNEL")
    if opts["users"] and not (channel or "").startswith("presence-"):
        raise click.UsageError("--users needs a presence- CHANNEL")
    options = check_options_from(opts, target)
    report = Report(command="channels", target=target.label)
    renderer = make_report_renderer(opts, detailed=True)
    renderer.start(report)
    try:
        result = query_channels(
            target,
            creds,
            options,
            channel=channel,
            users=opts["users"],
            prefix=opts["prefix"],
            info=opts["info"],
        )
        report.results.append(result)
        renderer.on_result(result)
    except KeyboardInterrupt:
        report.interrupted = True
    finish_report(report, renderer, opts)


def _auth_headers(values: tuple[str, ...]) -> list[tuple[str, str]]:
    headers = []
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            raise click.BadParameter(f"{value!r} is not 'Name: value'", param_hint="--auth-header")
        headers.append((name.strip(), content.strip()))
    return headers


def _authorizer(opts: dict[str, Any], key: str, secret: str | None, check: Any) -> Any:
    from wsdiag import trace
    from wsdiag.channels.auth import EndpointAuthorizer, LocalAuthorizer

    headers = _auth_headers(opts["auth_header"])
    for _, value in headers:
        trace.add_secret(value)
    user_info = None
    if opts["user_info"]:
        try:
            user_info = json.loads(opts["user_info"])
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--user-info") from None
        if not isinstance(user_info, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--user-info")
    if opts["auth_endpoint"]:
        if not opts["auth_endpoint"].startswith(("http://", "https://")):
            raise click.BadParameter(
                "must be an http:// or https:// URL", param_hint="--auth-endpoint"
            )
        from urllib.parse import urlsplit

        from wsdiag.proxy import bypassed

        auth_host = urlsplit(opts["auth_endpoint"]).hostname or ""
        return EndpointAuthorizer(
            opts["auth_endpoint"],
            key,
            headers,
            secret,
            check.timeout,
            opts.get("ca_bundle"),
            not opts.get("insecure"),
            proxy=None if bypassed(auth_host) else check.proxy,
        )
    if secret:
        return LocalAuthorizer(key, secret, opts["user_id"], user_info)
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
    help="NDJSON on stdout: one object per event, flushed per line.",
)
@click.option("--debug", is_flag=True, help="Trace every frame on stderr, secrets masked.")
@network_options
def tail(**opts: Any) -> None:
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
    from wsdiag.credentials import credentials_from
    from wsdiag.exit_codes import ExitCode
    from wsdiag.pusher.signing import validate_channel_name

    target = target_from(opts)
    if not target.key:
        raise click.UsageError("tail needs the app key: --key or PUSHER_APP_KEY")
    for name in opts["channel_names"]:
        if problem := validate_channel_name(name):
            raise click.BadParameter(problem, param_hint="CHANNEL")
    creds = credentials_from(
        environment(opts), app_id=opts.get("app_id"), key=target.key, secret=opts.get("secret")
    )
    for warning in creds.warnings():
        click.echo(f"warning: {warning}", err=True)
    master_key = None
    if opts["encryption_master_key"]:
        from wsdiag.channels.encryption import nacl_available, parse_master_key

        try:
            master_key = parse_master_key(opts["encryption_master_key"])
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--encryption-master-key") from None
        if not nacl_available():
            raise click.UsageError(
                "decrypting needs PyNaCl: pip install 'wsdiag[encryption]' (or pip install pynacl)"
            )
    check = check_options_from(opts, target, announce_trust=True)
    _start_trace(opts, creds.secret)
    renderer = _tail_renderer(opts)
    session = TailSession(
        target,
        TailOptions(
            channels=tuple(dict.fromkeys(opts["channel_names"])),
            authorizer=_authorizer(opts, target.key, creds.secret, check),
            master_key=master_key,
            event_patterns=tuple(opts["events"]),
            count=opts["count"],
            duration=opts["duration"],
            check=check,
        ),
        sink=renderer.on_event,
    )
    interrupted = False
    try:
        summary = session.run()
    except KeyboardInterrupt:
        interrupted = True
        summary = session.summary
        summary.ended = summary.ended or None
    renderer.finish(summary)
    if interrupted:
        code = ExitCode.INTERRUPTED
    else:
        code = ExitCode.CHECK_FAILED if summary.failed else ExitCode.OK
    click.get_current_context().exit(int(code))


def _start_trace(opts: dict[str, Any], secret: str | None) -> None:
    if not opts.get("debug"):
        return
    from wsdiag import trace

    trace.add_secret(secret)
    trace.enable()


def _tail_renderer(opts: dict[str, Any]) -> Any:
    from wsdiag.render.stream import ConsoleTailRenderer, NdjsonTailRenderer

    if opts["as_json"]:
        return NdjsonTailRenderer()
    from rich.console import Console

    return ConsoleTailRenderer(Console(highlight=False), Console(stderr=True, highlight=False))


COMMANDS: tuple[click.Command, ...] = (tail, publish, channels)
