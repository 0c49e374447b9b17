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
    type=click.Path(exists=True, dir_okay=False),
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
    options = check_options_from(opts)
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
    options = check_options_from(opts)
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


COMMANDS: tuple[click.Command, ...] = (publish, channels)
