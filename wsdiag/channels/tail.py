"""The live session behind ``wsdiag tail``: connect, subscribe, keep alive, reconnect, report.

Follows pusher-js's rules: ``pusher:ping`` after ``activity_timeout`` of
silence and a reconnect when the pong does not come; on a close code,
4000 → reconnect with TLS, 4100–4199 → back off, 4200–4299 → at once,
4000–4099 → give up with the explanation; every channel is subscribed again
after a reconnect. Everything observed goes to a sink as ``TailEvent``s; the
summary keeps counters only, so memory stays flat on a long run.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import field, replace
from typing import Any, Protocol

from wsdiag.channels.auth import AuthError, ChannelAuth, needs_auth
from wsdiag.channels.encryption import DecryptError, decrypt_payload, is_encrypted
from wsdiag.channels.signin import UserSigner, is_auth_kick, kick_text
from wsdiag.channels.stream import Observed, TailEvent, TailSummary, event_matches
from wsdiag.checks import CheckOptions
from wsdiag.checks.websocket import open_pusher
from wsdiag.models import Handshake, StageResult, Status
from wsdiag.pusher import client as protocol
from wsdiag.pusher.codes import explain_code
from wsdiag.pusher.frames import PusherEvent, signin_frame
from wsdiag.records import record
from wsdiag.session import PusherSession
from wsdiag.target import Target

Sink = Callable[[TailEvent], None]


class _KeepListening:
    """What ``_on`` returns when the connection goes on."""


_KEEP_LISTENING = _KeepListening()
MAX_BACKOFF_S = 30.0


class Authorizer(Protocol):
    def authorize(self, socket_id: str, channel: str) -> ChannelAuth: ...


@record
class TailOptions:
    channels: tuple[str, ...]
    authorizer: Authorizer | None = None
    master_key: bytes | None = None
    event_patterns: tuple[str, ...] = ()
    count: int | None = None  # stop after this many events
    duration: float | None = None  # stop after this many seconds
    check: CheckOptions = field(default_factory=CheckOptions)
    pong_timeout: float = protocol.PONG_TIMEOUT_S  # pusher-js's pongTimeout
    max_reconnects: int | None = None  # None: keep trying (tail is meant to run for long)
    signer: UserSigner | None = None  # --signin: pusher:signin after every connect


class _Stop(Exception):
    """The run is over (count or duration reached, or asked to stop)."""


class TailSession:
    """One ``tail`` run. ``run()`` blocks until count/duration/stop/give-up."""

    def __init__(
        self,
        target: Target,
        options: TailOptions,
        sink: Sink,
        flush: Callable[[], None] | None = None,
    ) -> None:
        """``flush``: called when a burst has been handed to ``sink`` and the socket has
        nothing more buffered (the NDJSON renderer writes its block then)."""
        self.target = target
        self.options = options
        self.sink = sink
        self.flush = flush
        self._received_at: float | None = None  # the read the current events came in
        self.summary = TailSummary()
        self.stop_event = threading.Event()
        self._deadline = time.monotonic() + options.duration if options.duration else None
        self._endpoint = target.websocket
        self._last_delay = 0.0  # the backoff grows while reconnects fail, resets on success
        self._connected_at = 0.0  # monotonic: a 4009 25–35 s later is the 30-second kick
        self._last_error = ""  # soketi says why in a pusher:error, then closes without a reason

    # ------------------------------------------------------------------ driving

    def run(self) -> TailSummary:
        backoff = 0.0
        try:
            while not self.stop_event.is_set():
                self._wait(backoff)
                outcome = self._connect_and_listen()
                if outcome is None:
                    break
                backoff = outcome
                self.summary.reconnects += 1
                limit = self.options.max_reconnects
                if limit is not None and self.summary.reconnects > limit:
                    self.summary.fatal = f"gave up after {limit} reconnect(s)"
                    self._emit(Observed.STATE, state="failed", message=self.summary.fatal)
                    break
        except _Stop:
            pass
        self.summary.ended = time.monotonic()
        return self.summary

    def stop(self) -> None:
        self.stop_event.set()

    def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self._emit(Observed.STATE, state="reconnecting", message=f"reconnecting in {seconds:g} s")
        if self.stop_event.wait(min(seconds, self._remaining())):
            raise _Stop
        self._check_deadline()

    def _remaining(self) -> float:
        return max(0.0, self._deadline - time.monotonic()) if self._deadline else float("inf")

    def _check_deadline(self) -> None:
        if self.stop_event.is_set() or (self._deadline and time.monotonic() >= self._deadline):
            raise _Stop

    # --------------------------------------------------------------- connection

    def _connect_and_listen(self) -> float | None:
        """One connection's life; returns the delay before reconnecting, or None to stop."""

        endpoint = self._endpoint
        self._emit(
            Observed.STATE,
            state="connecting",
            message=f"connecting to {endpoint.url}",
        )
        # No addresses: the dial asks the system resolver and races them, as pusher-js would.
        result, session = open_pusher(endpoint, None, self.target.app_key, self.options.check)
        if session is None:
            return self._after_failed_connect(result)
        self._last_delay = 0.0
        self._emit(
            Observed.STATE,
            state="connected",
            message=f"connected, socket_id {session.socket_id}, "
            f"activity_timeout {session.server_activity_timeout} s",
        )
        self._connected_at, self._last_error = time.monotonic(), ""
        try:
            self._sign_in(session)
            self._subscribe_all(session)
            return self._listen(session)
        finally:
            session.close()

    def _after_failed_connect(self, result: StageResult) -> float | None:
        code = result.outcome.close_code if isinstance(result.outcome, Handshake) else None
        self._emit(
            Observed.STATE,
            state="disconnected",
            message=_one_line(result),
            fix=result.fix,
            code=code if isinstance(code, int) else None,
        )
        if result.status is Status.OK:  # placeholder-key 4001: nothing to tail with
            self.summary.fatal = "no app key: pass --key"
            return None
        return self._policy(code if isinstance(code, int) else None, result.fix)

    def _policy(self, code: int | None, fix: str | None) -> float | None:
        """What to do after a close: delay before reconnecting, or None to give up."""
        if code is None:
            return self._retry_delay()

        info = explain_code(code, self_hosted=self._endpoint.self_hosted)
        if info.reconnect == "give_up":
            # The disconnect line before this one explained the code and its fix: say
            # once that tail stops, not the explanation again (issue 14).
            self.summary.fatal = f"{code} {info.title}"
            self._emit(
                Observed.STATE,
                state="failed",
                message=f"gave up: pusher-js does not reconnect after {code} {info.title}",
                code=code,
            )
            return None
        if info.reconnect == "tls" and not self._endpoint.tls:
            port = 443 if self._endpoint.port == 80 else self._endpoint.port
            self._endpoint = replace(self._endpoint, port=port, tls=True)  # the path stays
            return 0.0
        if info.reconnect == "immediately":
            return 0.0
        return self._retry_delay()

    def _retry_delay(self) -> float:
        """1 s, doubling to 30 s, for over-capacity codes and network failures."""
        delay = min(MAX_BACKOFF_S, max(1.0, self._last_delay * 2))
        self._last_delay = delay
        return delay

    # ----------------------------------------------------------- subscriptions

    def _subscribe_all(self, session: PusherSession) -> None:

        for channel in self.options.channels:
            auth: ChannelAuth | None = None
            if needs_auth(channel):
                if self.options.authorizer is None:
                    self._subscription_failed(
                        channel,
                        f"{channel} needs auth",
                        "pass --secret (with --app-id) to sign locally, or --auth-endpoint URL",
                    )
                    continue
                try:
                    auth = self.options.authorizer.authorize(session.socket_id, channel)
                except AuthError as exc:
                    self._subscription_failed(channel, str(exc), exc.fix)
                    continue
            session.subscribe(
                channel,
                auth=auth.auth if auth else None,
                data=auth.channel_data if auth else None,
            )

    def _sign_in(self, session: PusherSession) -> None:
        if self.options.signer is None:
            return
        try:
            auth, user_data = self.options.signer.sign_in(session.socket_id)
        except AuthError as exc:
            self._emit(Observed.WARNING, message=f"sign-in failed: {exc}", fix=exc.fix)
            return
        session.send(signin_frame(auth, user_data))

    def _subscription_failed(self, channel: str, message: str, fix: str | None) -> None:
        self._emit(Observed.SUBSCRIPTION_ERROR, channel=channel, message=message, fix=fix)

    # ---------------------------------------------------------------- listening

    def _listen(self, session: PusherSession) -> float | None:
        """Until the connection ends: events to the sink; the client keeps it alive."""
        session.client.pong_timeout = self.options.pong_timeout
        while True:
            self._check_deadline()
            # Wake at least once a second, to honour --duration and Ctrl-C promptly.
            wake = time.monotonic() + max(0.05, min(self._remaining(), 1.0))
            events = session.next_events(wake)
            # Every event of one read was received at the same moment: one clock reading.
            self._received_at = time.time()
            try:
                for event in events:
                    delay = self._on(event)
                    if not isinstance(delay, _KeepListening):
                        return delay
            finally:
                self._received_at = None
                if self.flush is not None and not (events and session.more_ready()):
                    self.flush()

    def _on(self, event: protocol.Event) -> float | _KeepListening | None:
        """Act on one client event; what to return from ``_listen``, or keep listening."""
        if isinstance(event, protocol.Message):
            self._handle(event.event)
        elif isinstance(event, protocol.Subscribed):
            members = _presence_members(event.data)
            self._emit(
                Observed.SUBSCRIBED,
                channel=event.channel,
                members=members,
                message=f"subscribed to {event.channel}"
                + (f" ({len(members)} member(s))" if members is not None else ""),
            )
        elif isinstance(event, protocol.SubscriptionFailed):
            self._subscription_failed(
                event.channel or "?",
                f"the server refused the subscription: {event.message}",
                "check the auth signature and the channel name",
            )
        elif isinstance(event, protocol.ServerError):
            self._last_error = event.message
            self._emit(Observed.WARNING, message=f"pusher:error {event.code} {event.message}")
        elif isinstance(event, protocol.BadFrame):  # one bad frame: say so, keep listening
            self._emit(Observed.WARNING, message=f"ignored a bad frame: {event.message}")
        elif isinstance(event, protocol.Closed):
            return self._closed(event)
        return _KEEP_LISTENING

    def _closed(self, closed: protocol.Closed) -> float | None:
        lived = time.monotonic() - self._connected_at
        if is_auth_kick(closed.code, lived, closed.reason or self._last_error):
            kick_cause, kick_fix = kick_text()
            self._emit(
                Observed.STATE,
                state="disconnected",
                message=f"{closed.code} after {lived:.0f} s: the 30-second kick: {kick_cause}",
                fix=kick_fix,
                code=closed.code,
            )
            return self._policy(closed.code, None)
        if closed.code == 4201 and closed.next_step == "immediately" and "pong" in closed.reason:
            self._emit(
                Observed.STATE,
                state="disconnected",
                message="no pong within the pong timeout: the connection is dead "
                "(often an idle-killing proxy)",
                code=4201,
            )
            return 0.0
        message = f"connection closed: {closed.reason or 'no reason given'}"
        fix = None
        if closed.next_step == "give_up":  # the last word on this connection: explain it here
            info = explain_code(closed.code, self_hosted=self._endpoint.self_hosted)
            message = f"{closed.code} {info.title}: {info.cause(closed.reason)}"
            fix = info.fix
        self._emit(Observed.STATE, state="disconnected", message=message, fix=fix, code=closed.code)
        return self._policy(closed.code, None)

    def _handle(self, event: PusherEvent) -> None:
        name, channel, data = event.event, event.channel, event.data
        if not name.startswith(("pusher:", "pusher_internal:")):  # an app event: the burst path
            patterns = self.options.event_patterns
            if channel and (not patterns or event_matches(name, patterns)):
                self._app_event(event, channel)
        elif name == "pusher_internal:member_added":
            self._emit(Observed.MEMBER_ADDED, channel=channel, user_id=_user_id(data), data=data)
        elif name == "pusher_internal:member_removed":
            self._emit(Observed.MEMBER_REMOVED, channel=channel, user_id=_user_id(data))
        elif name == "pusher:signin_success":
            info = _as_object(data)
            user = _as_object(info.get("user_data")) if isinstance(info, dict) else None
            user_id = user.get("id") if isinstance(user, dict) else None
            self._emit(Observed.STATE, state="signed_in", message=f"signed in as user {user_id}")
        # anything else (cache_miss, subscription_count) is protocol chatter

    def _app_event(self, event: PusherEvent, channel: str) -> None:
        name, data, data_json = event.event, event.data, event.data_json
        if is_encrypted(channel):
            if self.options.master_key is None:
                self._emit(
                    Observed.WARNING,
                    channel=channel,
                    event=name,
                    message="encrypted event: pass --encryption-master-key to read it",
                )
            else:
                try:
                    data, data_json = decrypt_payload(channel, data, self.options.master_key), None
                except DecryptError as exc:
                    self._emit(Observed.WARNING, channel=channel, event=name, message=str(exc))
                    return
        observed = TailEvent(
            Observed.EVENT,
            self._received_at or time.time(),
            channel,
            name,
            data,
            event.user_id,
            size=len(event.raw),
            data_json=data_json,
        )
        self.summary.count_event(channel, name, observed.received_at)
        self.sink(observed)
        if self.options.count is not None and self.summary.total >= self.options.count:
            raise _Stop

    def _emit(self, kind: Observed, **fields: Any) -> None:
        event = TailEvent(kind, self._received_at or time.time(), **fields)
        self.summary.record(event)
        self.sink(event)


def _as_object(data: Any) -> Any:
    if isinstance(data, str):
        try:
            return json.loads(data)
        except ValueError:
            return data
    return data


def _user_id(data: Any) -> str | None:
    obj = _as_object(data)
    return str(obj.get("user_id")) if isinstance(obj, dict) and "user_id" in obj else None


def _presence_members(data: Any) -> tuple[dict[str, Any], ...] | None:
    obj = _as_object(data)
    presence = obj.get("presence") if isinstance(obj, dict) else None
    if not isinstance(presence, dict):
        return None
    info = presence.get("hash") or {}
    return tuple({"user_id": uid, "user_info": info.get(uid)} for uid in presence.get("ids", []))


def _one_line(result: StageResult) -> str:
    """Summary and cause, without saying the same thing twice.

    A close code's cause quotes the server's message, which the summary carries
    too ("4001 app does not exist: <message>"): then the code and title lead and
    the cause follows, the message said once.
    """
    if not result.cause or result.cause in result.summary or result.summary in result.cause:
        return result.cause or result.summary
    code = result.outcome.close_code if isinstance(result.outcome, Handshake) else None
    if code is not None and "the server said" in result.cause:
        title = result.summary.split(":", 1)[0]
        return f"{title}: {result.cause}"
    return f"{result.summary} — {result.cause}"
