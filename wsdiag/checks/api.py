"""The HTTP API as checks: publish events, batches, channel queries — each reply explained.

Every request becomes one ``StageResult`` (Stage.API) with the status, the
reply, the phase timings and the server's clock skew. Input is validated
before anything is sent (``validate_publish``): nothing goes out when it fails.
Data for a ``private-encrypted-`` channel is encrypted first (``seal``), as the
server libraries do, so what is validated and sent is what a subscriber gets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from wsdiag.channels.encryption import encrypt_data, is_encrypted
from wsdiag.checks import CheckOptions
from wsdiag.classify import classify_api_status
from wsdiag.credentials import Credentials
from wsdiag.httpapi import ApiError, ApiResponse, api_request
from wsdiag.models import ErrorKind, Stage, StageResult, Status
from wsdiag.pusher.signing import mask_secret, validate_channel_name, validate_event_name
from wsdiag.records import record
from wsdiag.target import Target

MAX_CHANNELS = 100
MAX_DATA_BYTES = 10 * 1024
BATCH_SIZE = 10
SKEW_WARN_S = 30
SKEW_FAIL_S = 600  # the API rejects timestamps further off than this


@record
class OutgoingEvent:
    """One event to publish, as the batch API takes it."""

    channel: str
    name: str
    data: str
    socket_id: str | None = None

    def as_batch_item(self) -> dict[str, str]:
        item = {"channel": self.channel, "name": self.name, "data": self.data}
        if self.socket_id:
            item["socket_id"] = self.socket_id
        return item


def validate_publish(
    channels: Sequence[str], event: str, data: str, *, size_limit: bool = True
) -> list[str]:
    """Everything wrong with a publish request, before anything is sent (empty: fine)."""
    problems = []
    if not channels:
        problems.append("no channel given")
    if len(channels) > MAX_CHANNELS:
        problems.append(f"{len(channels)} channels; one request takes at most {MAX_CHANNELS}")
    problems += [p for p in map(validate_channel_name, channels) if p]
    encrypted = [c for c in channels if is_encrypted(c)]
    if encrypted and len(channels) > 1:
        # Each encrypted channel has a key of its own, so one data cannot serve two
        # channels; pusher-http-node, -python and -php refuse this too.
        problems.append(
            f"{encrypted[0]} is encrypted with a key of its own: publish to it alone, "
            "or one --batch line per channel"
        )
    if (problem := validate_event_name(event)) is not None:
        problems.append(problem)
    if event.startswith(("pusher:", "pusher_internal:")):
        problems.append(f"event {event!r}: the pusher: prefixes are reserved for the protocol")
    size = len(data.encode())
    if size_limit and size > MAX_DATA_BYTES:
        sealed = " once encrypted" if encrypted else ""
        problems.append(
            f"data is {size} bytes{sealed}; Pusher accepts at most {MAX_DATA_BYTES} (413) — "
            "self-hosted servers may allow more: --no-size-limit"
        )
    return problems


def seal(channels: Sequence[str], data: str, master_key: bytes | None) -> str:
    """``data`` as it is sent: encrypted when it goes to one ``private-encrypted-`` channel.

    With other channels beside it the data is left alone: ``validate_publish``
    refuses that request. ``master_key`` may be None only when no channel is encrypted.
    """
    if len(channels) != 1 or not is_encrypted(channels[0]):
        return data
    if master_key is None:
        raise ValueError(f"{channels[0]} needs the encryption master key")
    return encrypt_data(channels[0], data, master_key)


def seal_events(events: Sequence[OutgoingEvent], master_key: bytes | None) -> list[OutgoingEvent]:
    """Each event's data as it is sent (``seal``): one batch mixes plain and encrypted channels."""
    return [replace(e, data=seal([e.channel], e.data, master_key)) for e in events]


def publish(
    target: Target,
    credentials: Credentials,
    channels: Sequence[str],
    event: str,
    data: str,
    options: CheckOptions,
    *,
    socket_id: str | None = None,
    info: str | None = None,
) -> StageResult:
    """``data`` as it is sent: ``seal`` it first for a ``private-encrypted-`` channel."""
    body: dict[str, Any] = {"name": event, "data": data, "channels": list(channels)}
    if socket_id:
        body["socket_id"] = socket_id
    if info:
        body["info"] = info
    subject = f"publish {event} → {', '.join(channels[:3])}" + ("…" if len(channels) > 3 else "")
    return _call(
        target, credentials, options, "POST", "events", subject, body=body, channels=channels
    )


def publish_batch(
    target: Target,
    credentials: Credentials,
    events: Sequence[OutgoingEvent],
    options: CheckOptions,
) -> list[StageResult]:
    """Send ``events`` through ``batch_events``, ten per request (the shared-cluster limit).

    Events for ``private-encrypted-`` channels carry sealed data (``seal_events``).
    """
    results = []
    for start in range(0, len(events), BATCH_SIZE):
        chunk = events[start : start + BATCH_SIZE]
        subject = f"batch events {start + 1}-{start + len(chunk)} of {len(events)}"
        body = {"batch": [e.as_batch_item() for e in chunk]}
        channels = [e.channel for e in chunk]
        results.append(
            _call(
                target,
                credentials,
                options,
                "POST",
                "batch_events",
                subject,
                body=body,
                channels=channels,
            )
        )
    return results


def query_channels(
    target: Target,
    credentials: Credentials,
    options: CheckOptions,
    *,
    channel: str | None = None,
    users: bool = False,
    prefix: str | None = None,
    info: str | None = None,
) -> StageResult:
    """GET the channel list, one channel's info, or a presence channel's users."""
    params: dict[str, str] = {}
    if prefix:
        params["filter_by_prefix"] = prefix
    if info:
        params["info"] = info
    if channel is None:
        path, subject = "channels", "channels" + (f" {prefix}*" if prefix else "")
    elif users:
        path, subject = f"channels/{channel}/users", f"users of {channel}"
    else:
        path, subject = f"channels/{channel}", f"channel {channel}"
    return _call(target, credentials, options, "GET", path, subject, params=params)


def _call(
    target: Target,
    credentials: Credentials,
    options: CheckOptions,
    method: str,
    resource: str,
    subject: str,
    *,
    body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
    channels: Sequence[str] = (),
) -> StageResult:
    """``channels``: those of a publish; the encrypted ones are named in the details."""
    path = f"/apps/{credentials.app_id}/{resource}"
    raw = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
    try:
        response = api_request(
            target.api,
            credentials,
            method,
            path,
            params=params,
            body=raw,
            timeout=options.timeout,
            ca_bundle=options.ca_bundle,
            verify_tls=options.verify_tls,
            proxy=options.proxy,
            addresses=options.resolved.get(target.api.host),
        )
    except ApiError as exc:
        return StageResult(
            Stage.API,
            subject,
            Status.FAIL,
            str(exc),
            kind=exc.kind,
            cause=f"the request to {target.api} got no HTTP reply: {exc}",
            fix=f"run `wsdiag check {target.label}` to find the broken layer",
            details={"url": f"{target.api.scheme}://{target.api}{path}", **_encrypted(channels)},
            phases=exc.phases,
        )
    result = explain_response(response, credentials, subject)
    return (
        replace(result, details={**result.details, **_encrypted(channels)}) if channels else result
    )


def _encrypted(channels: Sequence[str]) -> dict[str, list[str]]:
    """``{"encrypted": [...]}``: the channels whose data went out encrypted (none: nothing)."""
    names = list(dict.fromkeys(c for c in channels if is_encrypted(c)))
    return {"encrypted": names} if names else {}


def explain_response(response: ApiResponse, credentials: Credentials, subject: str) -> StageResult:
    """Turn any HTTP reply into a result: 200 with skew checks, every error status explained."""
    parsed = response.json()
    skew = response.clock_skew_s
    details: dict[str, Any] = {
        "method": response.method,
        "path": response.path,
        "status": response.status,
        "reply": parsed if parsed is not None else response.text[:500],
        "clock_skew_s": None if skew is None else round(skew),  # Date has 1 s resolution
        "key": credentials.key,
        "secret": mask_secret(credentials.secret),
    }
    summary = f"HTTP {response.status} {response.reason}".strip()
    common: dict[str, Any] = {"details": details, "phases": response.phases}
    status = response.status
    embedded = embedded_error(parsed) if status == 200 else None
    if embedded is not None:
        # soketi answers some failures (a wrong secret among them) with HTTP 200 and
        # {"error": …, "code": 401} in the body: the body is the truth.
        status = embedded
        details["embedded_status"] = embedded
        summary += f" carrying error {embedded}"
    if status == 200:
        if parsed is None and response.body.strip():
            return StageResult(
                Stage.API,
                subject,
                Status.FAIL,
                summary + ", not JSON",
                kind=ErrorKind.API_BAD_REPLY,
                cause="the API answered 200 but the body is not JSON",
                fix="a proxy or web server may be answering instead of the Pusher "
                "API: check the host and port",
                **common,
            )
        return _skew_result(subject, summary, skew, common)
    found = classify_api_status(
        status,
        response.text,
        key=credentials.key,
        masked_secret=mask_secret(credentials.secret),
        app_id=credentials.app_id,
        skew_s=response.clock_skew_s,
    )
    kind, cause, fix = found.kind, found.cause, found.fix
    if kind is ErrorKind.API_UNAUTHORIZED or kind is ErrorKind.API_TIMESTAMP_EXPIRED:
        details["string_to_sign"] = response.string_to_sign
    snippet = response.text.strip().replace("\n", " ")[:120]
    return StageResult(
        Stage.API,
        subject,
        Status.FAIL,
        f"{summary}: {snippet}" if snippet else summary,
        kind=kind,
        cause=cause,
        fix=fix,
        **common,
    )


def _skew_result(
    subject: str, summary: str, skew: float | None, common: dict[str, Any]
) -> StageResult:
    if skew is not None and abs(skew) > SKEW_FAIL_S:
        return StageResult(
            Stage.API,
            subject,
            Status.FAIL,
            f"{summary}, clock off by {skew:+.0f} s",
            kind=ErrorKind.CLOCK_SKEW,
            cause=_skew_cause(skew),
            fix="sync this machine's clock (timedatectl set-ntp true)",
            **common,
        )
    if skew is not None and abs(skew) > SKEW_WARN_S:
        return StageResult(
            Stage.API,
            subject,
            Status.WARN,
            f"{summary}, clock off by {skew:+.0f} s",
            kind=ErrorKind.CLOCK_SKEW,
            cause=_skew_cause(skew),
            fix="sync this machine's clock (timedatectl set-ntp true) before it "
            "drifts past 600 s and every request fails",
            **common,
        )
    return StageResult(Stage.API, subject, Status.OK, summary, **common)


def _skew_cause(skew: float) -> str:
    direction = "behind" if skew > 0 else "ahead of"
    return f"this machine's clock is {abs(skew):.0f} s {direction} the server's (Date header)"


def embedded_error(parsed: Any) -> int | None:
    """The status soketi carries in a 200 body (``{"error": …, "code": 401}``), if any."""
    if isinstance(parsed, dict) and "error" in parsed:
        code = parsed.get("code")
        if isinstance(code, int) and 400 <= code <= 599:
            return code
    return None
