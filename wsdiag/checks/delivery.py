"""``check`` with credentials: the HTTP API, a private subscription, and events end to end.

1. api: a signed ``GET /apps/ID/channels`` — proves key, secret, app id and clock.
2. subscribe: a fresh ``private-wsdiag-…`` channel, signed locally.
3. delivery: K events published over the API and received on that socket; the
   latency of each is from just before its HTTP request to its arrival, which is
   what an app's ``trigger`` → browser path costs. A lost event is a failure.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from wsdiag.channels.auth import LocalAuthorizer
from wsdiag.checks import CheckOptions
from wsdiag.checks.api import explain_response, query_channels
from wsdiag.checks.ping import latency_of, latency_stats
from wsdiag.checks.websocket import open_pusher
from wsdiag.credentials import Credentials
from wsdiag.httpapi import ApiError, api_request
from wsdiag.models import ErrorKind, Phase, Stage, StageResult, Status, Stopwatch
from wsdiag.pusher.client import (
    BadFrame,
    Closed,
    Event,
    Message,
    ServerError,
    Subscribed,
    SubscriptionFailed,
)
from wsdiag.session import PusherSession
from wsdiag.target import Endpoint, Target

TEST_EVENT = "wsdiag-test"
Sink = Callable[[StageResult], StageResult]


def check_api(target: Target, credentials: Credentials, options: CheckOptions) -> StageResult:
    return query_channels(target, credentials, options, prefix="private-wsdiag-")


def check_subscription_and_delivery(
    target: Target,
    credentials: Credentials,
    options: CheckOptions,
    endpoint: Endpoint,
    addresses: Sequence[str],
    add: Sink,
    events: int = 5,
    api_failure: StageResult | None = None,
) -> None:
    """Subscribe on a fresh connection, then publish and receive ``events`` test events.

    ``api_failure``: the api stage's failure. Nothing can be published then, so
    delivery is skipped with that reason instead of waiting for events that were
    never accepted (and calling them lost).
    """
    channel = f"private-wsdiag-{secrets.token_hex(6)}"
    subject = f"{channel} via {endpoint.scheme}://{endpoint}"
    connected, session = open_pusher(endpoint, addresses, target.app_key, options)
    if session is None:
        add(
            StageResult(
                Stage.SUBSCRIBE,
                subject,
                Status.SKIPPED,
                f"skipped: no connection ({connected.summary})",
            )
        )
        add(StageResult(Stage.DELIVERY, subject, Status.SKIPPED, "skipped: no subscription"))
        return
    try:
        subscribed = add(_subscribe(session, credentials, channel, subject, options))
        if subscribed.status is not Status.OK:
            add(StageResult(Stage.DELIVERY, subject, Status.SKIPPED, "skipped: no subscription"))
            return
        if api_failure is not None:
            why = f"skipped: the HTTP API failed ({api_failure.summary}), nothing can be published"
            add(StageResult(Stage.DELIVERY, subject, Status.SKIPPED, why))
            return
        add(_deliver(session, target, credentials, channel, subject, options, events))
    finally:
        session.close()


def _subscribe(
    session: PusherSession,
    credentials: Credentials,
    channel: str,
    subject: str,
    options: CheckOptions,
) -> StageResult:
    assert credentials.key and credentials.secret
    watch = Stopwatch()
    auth = LocalAuthorizer(credentials.key, credentials.secret).authorize(
        session.socket_id, channel
    )
    details = {"channel": channel, "socket_id": session.socket_id}
    with watch.phase("subscribe"):
        session.subscribe(channel, auth=auth.auth)
        outcome = await_subscription(session, channel, options.timeout)
    if outcome is None:
        return StageResult(
            Stage.SUBSCRIBE,
            subject,
            Status.OK,
            f"subscribed to {channel}",
            details=details,
            phases=watch.frozen(),
        )
    kind, text = outcome
    fix = (
        "check that --key and --secret belong to the same app (the server verifies the "
        "signature with its secret)"
        if kind is ErrorKind.SUBSCRIPTION_ERROR
        else "the server did not confirm the subscription: check its logs"
    )
    return StageResult(
        Stage.SUBSCRIBE, subject, Status.FAIL, text, kind, text, fix, details, watch.frozen()
    )


def await_subscription(
    session: PusherSession,
    channel: str,
    timeout: float,
    on_subscribed: Callable[[Subscribed], None] | None = None,
) -> tuple[ErrorKind, str] | None:
    """None when ``channel`` was confirmed (``on_subscribed`` gets the confirmation, a
    presence channel's members in it), else the kind and words of why not."""
    deadline = time.monotonic() + timeout
    while (event := session.next_event(deadline)) is not None:
        if isinstance(event, Subscribed) and event.channel == channel:
            if on_subscribed is not None:
                on_subscribed(event)
            return None
        refused = isinstance(event, ServerError) or (
            isinstance(event, SubscriptionFailed) and event.channel in (channel, None)
        )
        if refused and isinstance(event, ServerError | SubscriptionFailed):
            return (
                ErrorKind.SUBSCRIPTION_ERROR,
                f"the server refused the subscription: {event.message}",
            )
        if isinstance(event, Closed | BadFrame):
            what = event.reason if isinstance(event, Closed) else event.message
            return (
                ErrorKind.SUBSCRIPTION_ERROR,
                f"the connection failed while subscribing: {what}",
            )
    return ErrorKind.SUBSCRIPTION_TIMEOUT, f"no subscription_succeeded within {timeout:g} s"


class _Publisher(threading.Thread):
    """Publishes the test events one after another, noting when each request started."""

    def __init__(
        self,
        target: Target,
        credentials: Credentials,
        channel: str,
        count: int,
        options: CheckOptions,
    ) -> None:
        super().__init__(daemon=True)
        self.target, self.credentials, self.channel = target, credentials, channel
        self.count, self.options = count, options
        self.sent_at: dict[int, float] = {}
        self.error: str | None = None
        self.error_kind: ErrorKind | None = None

    def run(self) -> None:
        for seq in range(self.count):
            body = json.dumps(
                {"name": TEST_EVENT, "channels": [self.channel], "data": json.dumps({"seq": seq})},
                separators=(",", ":"),
            )
            self.sent_at[seq] = time.perf_counter()
            try:
                reply = api_request(
                    self.target.api,
                    self.credentials,
                    "POST",
                    f"/apps/{self.credentials.app_id}/events",
                    body=body.encode(),
                    timeout=self.options.timeout,
                    ca_bundle=self.options.ca_bundle,
                    verify_tls=self.options.verify_tls,
                    proxy=self.options.proxy,
                    addresses=self.options.resolved.get(self.target.api.host),
                )
            except ApiError as exc:
                self.error, self.error_kind = str(exc), exc.kind
                return
            # Judged as the api stage judges a reply: soketi reports some errors (a wrong
            # app id among them) as HTTP 200 with an error body.
            judged = explain_response(reply, self.credentials, self.channel)
            if judged.failed:
                self.error = f"publish failed: {judged.summary}"
                self.error_kind = judged.kind or ErrorKind.API_UNEXPECTED_STATUS
                return


def _deliver(
    session: PusherSession,
    target: Target,
    credentials: Credentials,
    channel: str,
    subject: str,
    options: CheckOptions,
    count: int,
) -> StageResult:
    publisher = _Publisher(target, credentials, channel, count, options)
    latencies: dict[int, float] = {}
    publisher.start()
    # Each publish is bounded by the timeout; after the last one, events get one
    # more timeout to arrive. A hard cap keeps the stage bounded whatever happens.
    deadline = time.monotonic() + options.timeout * (count + 1)
    publishing = True
    while len(latencies) < count and (remaining := deadline - time.monotonic()) > 0:
        if publishing and not publisher.is_alive():
            if publisher.error:
                break
            publishing = False
            deadline = min(deadline, time.monotonic() + options.timeout)
            continue
        events = session.next_events(time.monotonic() + min(remaining, 0.5))
        broken = next((e for e in events if isinstance(e, Closed | BadFrame)), None)
        if broken is not None:
            what = broken.reason if isinstance(broken, Closed) else broken.message
            publisher.error = publisher.error or f"the connection failed: {what}"
            break
        for event in events:
            seq = _test_event_seq(event, channel)
            if seq is not None and seq in publisher.sent_at:
                latencies[seq] = (time.perf_counter() - publisher.sent_at[seq]) * 1000
    publisher.join(timeout=options.timeout)
    return _delivery_result(subject, count, latencies, publisher)


def _test_event_seq(event: Event, channel: str) -> int | None:
    """The sequence number of one of our test events on ``channel``; None for anything else."""
    if not isinstance(event, Message):
        return None
    frame = event.event
    if frame.event != TEST_EVENT or frame.channel != channel or not isinstance(frame.data, dict):
        return None
    seq = frame.data.get("seq")
    return seq if isinstance(seq, int) else None


def _delivery_result(
    subject: str, count: int, latencies: dict[int, float], publisher: _Publisher
) -> StageResult:
    samples = [latencies[s] for s in sorted(latencies)]
    stats = latency_stats(samples)
    details: dict[str, Any] = {
        "sent": len(publisher.sent_at),
        "received": len(samples),
        "samples_ms": [round(s, 3) for s in samples],
        **stats,
    }
    phases = tuple(Phase(f"event{s + 1}", round(latencies[s], 3)) for s in sorted(latencies))
    if publisher.error:
        return StageResult(
            Stage.DELIVERY,
            subject,
            Status.FAIL,
            publisher.error,
            publisher.error_kind or ErrorKind.API_UNEXPECTED_STATUS,
            f"publishing the test events failed: {publisher.error}",
            "run `wsdiag publish` with the same credentials for the full reply",
            details,
            phases,
            outcome=latency_of(samples),
        )
    lost = sorted(set(range(count)) - set(latencies))
    if lost:
        return StageResult(
            Stage.DELIVERY,
            subject,
            Status.FAIL,
            f"{len(lost)} of {count} events never arrived",
            ErrorKind.EVENT_LOST,
            f"the API accepted {count} events but the socket received "
            f"{len(samples)}: events {lost} were lost",
            "check that publisher and subscriber use the same app and cluster, and "
            "that nothing filters frames on the path",
            details,
            phases,
            outcome=latency_of(samples),
        )
    summary = (
        f"{count}/{count} events: min {stats['min']:.1f} / median {stats['median']:.1f} / "
        f"p95 {stats['p95']:.1f} / max {stats['max']:.1f} ms"
    )
    return StageResult(
        Stage.DELIVERY,
        subject,
        Status.OK,
        summary,
        details=details,
        phases=phases,
        outcome=latency_of(samples),
    )
