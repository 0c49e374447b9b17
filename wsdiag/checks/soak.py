"""``soak``: three connections held at once that differ only in keep-alive (issue 10, part 2).

(a) no pings at all, (b) WebSocket control pings only, (c) ``pusher:ping`` after
the server's ``activity_timeout`` of silence, as pusher-js does. Something on the
path that closes idle TCP kills (a) after a fixed time; a server that only counts
Pusher-level activity (soketi: 120 s, whatever control pings arrive) kills (a) and
(b); (c) dying means the client itself would drop. A close with 4009 at 25–35 s is
the 30-second kick of servers that want a sign-in (part 3), not an idle timeout.

Each connection is driven by the one receive loop (``PusherSession``) on its own
thread; the caller polls ``SoakRun.lives`` for live progress. Nothing here prints.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from wsdiag.checks import CheckOptions
from wsdiag.models import ErrorKind, Status
from wsdiag.pusher.client import Closed, Pong, ServerError
from wsdiag.records import record
from wsdiag.target import Endpoint

if TYPE_CHECKING:
    pass


class KeepAlive(StrEnum):
    NONE = "none"  # (a)
    WEBSOCKET = "websocket"  # (b) RFC 6455 control pings only
    PUSHER = "pusher"  # (c) pusher:ping at the activity timeout, as pusher-js

    @property
    def label(self) -> str:
        return {"none": "(a) no pings", "websocket": "(b) WebSocket pings"}.get(
            self.value, "(c) pusher:ping"
        )


class Ending(StrEnum):
    ALIVE = "alive"  # still open at the end of the run
    CLOSED = "closed"  # a close frame, or the TCP connection dropped (1006)
    SILENT = "silent"  # no close at all: found dead by a ping that got no pong
    NOT_CONNECTED = "not_connected"  # the handshake failed


@record
class ConnectionLife:
    """How one of the three connections fared."""

    keep_alive: KeepAlive
    ending: Ending = Ending.ALIVE
    lived_s: float = 0.0  # from connection_established to the end (or to now)
    close_code: int | None = None
    reason: str | None = None

    @property
    def died(self) -> bool:
        return self.ending in (Ending.CLOSED, Ending.SILENT)


@record
class SoakResult:
    """The verdict on the path: the idle timeout, whether pusher:ping helps, what to set."""

    target: str
    duration_s: float
    interval_s: float  # keep-alive interval of (b) and (c)
    server_activity_timeout: int | None
    lives: tuple[ConnectionLife, ...]
    status: Status
    summary: str
    kind: ErrorKind | None = None
    cause: str | None = None
    fix: str | None = None
    idle_timeout_s: float | None = None  # the shortest timed death of (a)/(b); None: none
    pusher_pings_keep_alive: bool | None = None  # None: nothing died, nothing to tell
    activity_timeout_s: int | None = None  # pusher-js activityTimeout to configure

    def life(self, keep_alive: KeepAlive) -> ConnectionLife:
        return next(life for life in self.lives if life.keep_alive is keep_alive)


class SoakRun:
    """The three connections, each on its own thread; ``lives`` is safe to read any time."""

    def __init__(
        self,
        endpoint: Endpoint,
        key: str,
        options: CheckOptions,
        duration: float,
        interval: float | None = None,
        addresses: Sequence[str] | None = None,
    ) -> None:
        self.endpoint, self.key, self.options = endpoint, key, options
        self.duration, self.interval = duration, interval
        self.addresses = addresses  # the path that connected (check); None: the system's
        self.server_activity_timeout: int | None = None
        self.failure: Any = None  # the StageResult of a failed handshake
        self._lives = {k: ConnectionLife(k) for k in KeepAlive}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def lives(self) -> tuple[ConnectionLife, ...]:
        with self._lock:
            return tuple(self._lives[k] for k in KeepAlive)

    def start(self) -> None:
        for mode in KeepAlive:
            thread = threading.Thread(target=self._hold, args=(mode,), daemon=True)
            thread.name = f"wsdiag-soak-{mode}"
            thread.start()
            self._threads.append(thread)

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True when every connection is done."""
        deadline = time.monotonic() + seconds
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.options.timeout + 1)

    def _set(self, mode: KeepAlive, **changes: Any) -> None:
        with self._lock:
            self._lives[mode] = replace(self._lives[mode], **changes)

    def _hold(self, mode: KeepAlive) -> None:
        from wsdiag.checks.websocket import open_pusher

        try:
            result, session = open_pusher(self.endpoint, self.addresses, self.key, self.options)
        except Exception as exc:  # a bug: said as the stage's internal error, not a thread's
            self._broken(mode, exc)
            return
        if session is None:
            self.failure = self.failure or result
            self._set(mode, ending=Ending.NOT_CONNECTED, reason=result.summary)
            return
        try:
            self._keep(mode, session)
        except Exception as exc:  # the same, once connected: never a false "alive"
            self._broken(mode, exc)
        finally:
            session.close()

    def _broken(self, mode: KeepAlive, exc: Exception) -> None:
        from wsdiag.checks.runner import internal_error
        from wsdiag.models import Stage

        self.failure = self.failure or internal_error(Stage.SOAK, self.endpoint.url, exc)
        self._set(mode, ending=Ending.NOT_CONNECTED, reason=f"internal error: {exc}")

    def _keep(self, mode: KeepAlive, session: Any) -> None:
        self.server_activity_timeout = session.server_activity_timeout
        interval = self.interval or float(session.server_activity_timeout or 120)
        client = session.client
        # (a) and (b) never send pusher:ping: the client's own keep-alive is off; (c) pings
        # no later than pusher-js would (the lower of its own and the server's timeout).
        pusher_every = min(interval, client.activity_timeout)
        client.activity_timeout = pusher_every if mode is KeepAlive.PUSHER else math.inf
        client.pong_timeout = self.options.timeout
        start = time.monotonic()
        end = start + self.duration
        # Only (b) wakes for its control pings; the others wake for the run's end.
        next_control_ping = start + interval if mode is KeepAlive.WEBSOCKET else math.inf
        said = ""  # soketi says why in a pusher:error, then closes without a reason
        while not self._stop.is_set():
            now = time.monotonic()
            self._set(mode, lived_s=now - start)
            if now >= end:
                break
            if now >= next_control_ping:
                session.control_ping()
                next_control_ping = now + interval
            for event in session.next_events(min(end, now + 0.25, next_control_ping)):
                if isinstance(event, ServerError):
                    said = event.message
                if isinstance(event, Closed):
                    closed = replace(event, reason=event.reason or said)
                    self._closed(mode, closed, lived_s=time.monotonic() - start)
                    return
        if not self._stop.is_set():
            self._probe(mode, session, start)

    def _probe(self, mode: KeepAlive, session: Any, start: float) -> None:
        """The end of the run: a pusher:ping tells a live connection from a silently dead one."""
        session.ping()
        deadline = time.monotonic() + self.options.timeout
        while (event := session.next_event(deadline)) is not None:
            if isinstance(event, Pong):
                return
            if isinstance(event, Closed):
                self._closed(mode, event)
                return
        reason = f"no pusher:pong within {self.options.timeout:g} s at the end of the run"
        self._set(mode, ending=Ending.SILENT, reason=reason)

    def _closed(self, mode: KeepAlive, event: Closed, **changes: Any) -> None:
        # 4201 "no pusher:pong" is the client's own verdict, not a code the server sent.
        silent = event.code == 4201 and "pong" in event.reason
        ending = Ending.SILENT if silent else Ending.CLOSED
        code = None if silent else event.code
        self._set(mode, ending=ending, close_code=code, reason=event.reason, **changes)


def run_soak(
    endpoint: Endpoint,
    key: str,
    options: CheckOptions,
    duration: float,
    interval: float | None = None,
    progress: Callable[[tuple[ConnectionLife, ...]], None] | None = None,
    addresses: Sequence[str] | None = None,
) -> SoakResult:
    """Hold the three connections for ``duration`` seconds and judge the path."""
    run = SoakRun(endpoint, key, options, duration, interval, addresses)
    run.start()
    try:
        while not run.wait(0.5):
            if progress is not None:
                progress(run.lives)
    finally:
        run.stop()
    return judge(run, endpoint.url)


def figures(result: SoakResult) -> dict[str, Any]:
    """The result's figures, JSON-ready: what soak --json and check's soak record carry."""
    return {
        "duration_s": result.duration_s,
        "interval_s": result.interval_s,
        "server_activity_timeout_s": result.server_activity_timeout,
        "idle_timeout_s": result.idle_timeout_s,
        "pusher_pings_keep_alive": result.pusher_pings_keep_alive,
        "activity_timeout_s": result.activity_timeout_s,
        "connections": [
            {
                "keep_alive": str(life.keep_alive),
                "ending": str(life.ending),
                "lived_s": round(life.lived_s, 3),
                "close_code": life.close_code,
                "reason": life.reason,
            }
            for life in result.lives
        ],
    }


def judge(run: SoakRun, target: str) -> SoakResult:
    lives = run.lives
    interval = run.interval or float(run.server_activity_timeout or 120)
    base = SoakResult(
        target, run.duration, interval, run.server_activity_timeout, lives, Status.OK, ""
    )
    if any(life.ending is Ending.NOT_CONNECTED for life in lives):
        failure = run.failure
        return replace(
            base,
            status=Status.FAIL,
            summary=f"could not connect: {failure.summary}",
            kind=failure.kind,
            cause=failure.cause,
            fix=failure.fix,
        )
    return judge_lives(base)


def judge_lives(base: SoakResult) -> SoakResult:
    """The conclusion from the three lives (pure: unit-tested without a network)."""
    pusher = base.life(KeepAlive.PUSHER)
    kicked = [life for life in base.lives if _kicked(life)]
    if kicked:
        life = kicked[0]
        return replace(
            base,
            status=Status.FAIL,
            kind=ErrorKind.PUSHER_AUTH_TIMEOUT,
            summary=f"closed {life.close_code} after {life.lived_s:.0f} s: "
            f"{life.reason or 'no reason given'}",
            cause=_kind_words(ErrorKind.PUSHER_AUTH_TIMEOUT)[0],
            fix=_kind_words(ErrorKind.PUSHER_AUTH_TIMEOUT)[1],
            pusher_pings_keep_alive=None,
        )
    idle = [
        life
        for life in base.lives
        if life.keep_alive is not KeepAlive.PUSHER and life.ending is Ending.CLOSED
    ]
    idle_s = round(min(life.lived_s for life in idle), 1) if idle else None
    silent = [life for life in base.lives if life.ending is Ending.SILENT]
    if not pusher.died and not idle and not silent:
        return replace(
            base,
            summary=f"all three connections stayed open for {base.duration_s:g} s: "
            "no idle timeout shorter than that on this path",
        )
    advice = _activity_timeout(idle_s, base.server_activity_timeout)
    how = _how(idle, silent)
    if pusher.died:
        ended = _ending_words(pusher)
        return replace(
            base,
            status=Status.FAIL,
            kind=ErrorKind.IDLE_TIMEOUT,
            idle_timeout_s=idle_s
            if idle_s is not None or pusher.ending is Ending.SILENT
            else round(pusher.lived_s, 1),  # a silent death has no time: found by a ping
            pusher_pings_keep_alive=False,
            activity_timeout_s=advice,
            summary=f"even the connection with pusher:ping every {base.interval_s:g} s died "
            f"after {pusher.lived_s:.0f} s ({ended}){how}",
            cause="something on this path closes connections even while pusher:ping keeps "
            "them busy: an idle timeout shorter than the ping interval, or a hard limit on a "
            "connection's life",
            fix=_fix(advice) + "; if that does not help, raise the idle timeout of the proxy or "
            "load balancer in front of the server (nginx proxy_read_timeout, AWS ALB idle "
            "timeout, Cloudflare 100 s)",
        )
    return replace(
        base,
        status=Status.WARN,
        kind=ErrorKind.IDLE_TIMEOUT,
        idle_timeout_s=idle_s,
        pusher_pings_keep_alive=True,
        activity_timeout_s=advice,
        summary=f"pusher:ping every {base.interval_s:g} s keeps the connection alive{how}",
        cause=_idle_cause(idle, idle_s),
        fix=_fix(advice),
    )


def _kicked(life: ConnectionLife) -> bool:
    from wsdiag.channels.signin import is_auth_kick

    return is_auth_kick(life.close_code, life.lived_s, life.reason)


def _how(idle: list[ConnectionLife], silent: list[ConnectionLife]) -> str:
    parts = [f"{life.keep_alive.label} died after ≈ {life.lived_s:.0f} s" for life in idle]
    parts += [f"{life.keep_alive.label} died silently" for life in silent]
    return "; " + ", ".join(parts) if parts else ""


def _ending_words(life: ConnectionLife) -> str:
    if life.ending is Ending.SILENT:
        return "silently: a ping got no pong"
    return f"close {life.close_code}" + (f" {life.reason}" if life.reason else "")


def _idle_cause(idle: list[ConnectionLife], idle_s: float | None) -> str:
    if idle_s is None:
        return (
            "a connection without pings died silently (no close, found by a ping that got no "
            "pong): something on this path drops idle TCP connections without telling either end"
        )
    codes = {life.close_code for life in idle}
    ws_lived = any(life.keep_alive is KeepAlive.WEBSOCKET for life in idle)
    if codes == {4201} or (ws_lived and 4201 in codes):
        return (
            f"the server closes connections without Pusher-level activity after ≈ {idle_s:g} s "
            "(4201), whatever WebSocket control pings arrive (soketi: 120 s)"
        )
    return f"something on this path closes idle TCP after ≈ {idle_s:g} s"


def _activity_timeout(idle_s: float | None, server: int | None) -> int | None:
    """Half the path's idle timeout: the ping goes out with time to spare for the pong."""
    if idle_s is None:
        return None
    suggestion = max(1, int(idle_s // 2))
    return min(suggestion, server) if server else suggestion


def _fix(advice: int | None) -> str:
    if advice is None:
        return (
            "make the client ping: pusher-js does (activityTimeout); a client that only "
            "receives must ping too"
        )
    return (
        f"set activityTimeout: {advice * 1000} in the Pusher client options (pusher-js, Laravel "
        f"Echo; milliseconds), so the client pings after {advice} s of silence"
    )


def _kind_words(kind: ErrorKind) -> tuple[str, str]:
    from wsdiag.explain import kind_text

    _, cause, fix = kind_text(kind)
    return cause, fix
