"""The ``fallback`` stage: pusher-js's HTTP fallback, opened as pusher-js opens it.

pusher-js starts its HTTP transports when WebSocket has not connected within
2 s (with TLS): xhr_streaming on ``httpHost`` (``sockjs-CLUSTER.pusher.com``,
443), and xhr_polling 4 s later. This stage opens the streaming URL, reads the
reply until the Pusher handshake (status, the open frame, then
``pusher:connection_established``), and tries polling when the stream shows
nothing in time — what a proxy that buffers replies does to streaming. So
"WebSocket is blocked but the fallback works" (the client connects, later and
with more requests) is told apart from "nothing works" (checks/runner.py).

A self-hosted server (soketi, Reverb) has no fallback routes: the stage then
says what pusher-js does instead (see ``_not_served``).
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from wsdiag import __version__, trace
from wsdiag.checks import CheckOptions, tunnel_addresses
from wsdiag.classify import classify_dial
from wsdiag.dialer import DialError
from wsdiag.models import ErrorKind, Handshake, Stage, StageResult, Status, Stopwatch
from wsdiag.pusher.client import Connected, HandshakeFailed, PusherClient
from wsdiag.pusher.codes import explain_code
from wsdiag.pusher.fallback import (
    POLLING,
    STREAMING,
    Close,
    FrameSplitter,
    Garbled,
    Messages,
    Open,
    new_session,
    receive_path,
)
from wsdiag.records import record
from wsdiag.target import PLACEHOLDER_KEY, Endpoint, Target

if TYPE_CHECKING:
    from wsdiag.concurrency import Pending

NOT_SERVED = frozenset({404, 405, 501})  # no such route: the server has no fallback
MAX_POLLS = 4  # open, then the handshake; a few more for servers that send heartbeats first
_HEADERS = ("server", "via", "content-type", "x-powered-by")


@record
class _Where:
    """What both transports share: where to connect, as whom, and by when."""

    endpoint: Endpoint
    addresses: Sequence[str] | None
    key: str
    options: CheckOptions
    tls: ssl.SSLContext | None
    deadline: float  # monotonic: the stage ends by then, whichever transport is running


@dataclass
class _Attempt:
    """One transport's try: what it reached and, when it failed, why."""

    transport: str
    url: str
    watch: Stopwatch = field(default_factory=Stopwatch)
    details: dict[str, Any] = field(default_factory=dict)
    handshake: Connected | HandshakeFailed | None = None
    failure: tuple[str, ErrorKind, str, str] | None = None  # summary, kind, cause, fix
    stalled: bool = False  # no reply, or a 200 that showed nothing, in time: try polling
    evidence: str | None = None  # the first line that was no fallback frame

    def fail(self, summary: str, kind: ErrorKind, cause: str, fix: str) -> _Attempt:
        self.failure = (summary, kind, cause, fix)
        return self


def probe_fallback(
    endpoint: Endpoint,
    addresses: Sequence[str] | None,
    key: str,
    options: CheckOptions,
    self_hosted: bool,
) -> StageResult:
    """xhr_streaming on ``endpoint``, and xhr_polling beside it once the stream is slow.

    pusher-js starts polling while streaming still runs (4 s later); here polling
    starts halfway to the deadline, and both end by it, so the stage waits one
    ``--timeout`` however the fallback fails. Streaming's outcome wins when it
    connects; polling's only counts when streaming got nowhere.
    """
    from wsdiag.concurrency import Pending
    from wsdiag.transport import tls_context

    tls = tls_context(options.ca_bundle, options.verify_tls) if endpoint.tls else None
    where = _Where(endpoint, addresses, key, options, tls, time.monotonic() + options.timeout)
    streaming = Pending(_streaming, where, name="wsdiag-xhr-streaming")
    attempts = []
    try:
        attempts.append(streaming.result(options.timeout / 2))
    except TimeoutError:
        polled = _polling(where)
        first = streaming.result()
        stalled = first.stalled and not isinstance(first.handshake, Connected)
        attempts += [first, polled] if stalled else [first]
    return _record(endpoint, key, attempts, self_hosted=self_hosted, options=options)


HTTP_TRANSPORTS = frozenset({"xhr_streaming", "xhr_polling"})
_PATH_KINDS = ("dns_", "tcp_", "proxy_", "tls_", "ws_")  # failures of the way, not the server
# No handshake, or garbage instead: pusher-js gives the WebSocket up and falls back too.
_STALLED_HANDSHAKE = frozenset({"pusher_no_handshake", "pusher_bad_frame"})
_TRANSPORT_NAMES = {STREAMING: "xhr_streaming", POLLING: "xhr_polling"}  # attempt -> pusher-js


class FallbackPath:
    """The fallback stage of one check, probed on its own thread, judged as the client lives it.

    - Pusher's clusters: when it connects, a failure on the WebSocket host
      (reach, TLS, upgrade) is a warning, since pusher-js connects over HTTP
      after all (``rescue``); when it fails while WebSocket works, the
      fallback record is a warning (no fallback), and a failure when nothing
      works.
    - A self-hosted server: pusher-js sends its fallback to Pusher's
      ``sockjs-CLUSTER.pusher.com`` unless ``httpHost`` says otherwise, so the
      server's own routes rescue nothing; their absence is a warning that says
      what to set.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        websocket_host: str,
        self_hosted: bool,
        pending: Pending[StageResult] | None,
        skipped: str | None,
        started_ms: float,
        transports: Collection[str] | None = None,
    ) -> None:
        self.transports = transports
        self.endpoint = endpoint
        self.websocket_host = websocket_host
        self.self_hosted = self_hosted
        self.started_ms = started_ms
        self._pending = pending
        self._skipped = skipped

    @classmethod
    def start(
        cls,
        target: Target,
        options: CheckOptions,
        transports: Collection[str] | None,
        started_ms: float,
    ) -> FallbackPath:
        from wsdiag.concurrency import Pending

        websocket = target.websocket
        self_hosted = target.fallback is None
        endpoint = target.fallback or Endpoint(websocket.host, websocket.port, websocket.tls)
        skipped = None
        if transports is not None and not HTTP_TRANSPORTS & set(transports):
            skipped = (
                f"the client's enabledTransports ({', '.join(transports)}) has no HTTP fallback"
            )
        elif target.fallback is None and not target.self_hosted:
            skipped = "no fallback host is known for this Pusher host: name the cluster instead"
        pending = None
        addresses = options.resolved.get(endpoint.host)
        if skipped is None and options.proxy is None and not addresses:
            skipped = f"no address for {endpoint.host} (DNS failed)"
        if skipped is None:
            from wsdiag.checks.runner import guarded

            # guarded: a bug in the probe is the stage's internal error, not the thread's
            pending = Pending(
                guarded,
                Stage.FALLBACK,
                http_url(endpoint),
                probe_fallback,
                endpoint,
                addresses,
                target.app_key,
                options,
                self_hosted,
                name="wsdiag-fallback",
            )
        return cls(endpoint, websocket.host, self_hosted, pending, skipped, started_ms, transports)

    def _result(self) -> StageResult | None:
        return self._pending.result() if self._pending is not None else None

    def works(self) -> bool:
        """Did pusher-js's fallback connect (the placeholder key's 4001 counts: Pusher answered),
        over a transport the client has enabled?"""
        result = self._result()
        if result is None or result.status is Status.FAIL:
            return False
        if not isinstance(result.outcome, Handshake):
            return False
        return self.transports is None or result.outcome.transport in self.transports

    def rescue(self, result: StageResult, host: str) -> StageResult:
        """A failure on the WebSocket host's path (DNS, TCP, proxy, TLS, the upgrade), when the
        fallback connects, is a warning. A server that refused the Pusher handshake (a close
        code) is no path failure: pusher-js does not fall back to HTTP from it."""
        if result.status is not Status.FAIL or host != self.websocket_host or self.self_hosted:
            return result
        kind = result.kind.value if result.kind else ""
        if not (kind.startswith(_PATH_KINDS) or kind in _STALLED_HANDSHAKE):
            return result
        if not self.works():
            return result
        consequence = (
            f"; pusher-js then falls back to HTTP ({STREAMING} on {self.endpoint}), which "
            "works here: clients connect, but only after WebSocket has failed (2 s or more), "
            "with one HTTP request per message sent and higher latency"
        )
        return replace(result, status=Status.WARN, cause=f"{result.cause}{consequence}")

    def record(self, *, websocket_works: bool) -> StageResult:
        """The fallback's own record, judged knowing whether any WebSocket path worked."""
        if self._skipped is not None:
            subject = http_url(self.endpoint)
            return StageResult(Stage.FALLBACK, subject, Status.SKIPPED, f"skipped: {self._skipped}")
        result = self._result()
        assert result is not None
        if result.status is not Status.FAIL:
            return result
        if self.self_hosted:
            return replace(result, status=Status.WARN)
        if websocket_works:
            consequence = "; clients connect over WebSocket, but have no fallback when it fails"
            return replace(result, status=Status.WARN, cause=f"{result.cause}{consequence}")
        return result


# ---------------------------------------------------------------- transports


def http_url(endpoint: Endpoint, path: str = "") -> str:
    return f"{'https' if endpoint.tls else 'http'}://{endpoint}{path}"


def _streaming(where: _Where) -> _Attempt:
    from wsdiag.exchange import open_stream

    endpoint, options, deadline = where.endpoint, where.options, where.deadline
    path = receive_path(where.key, new_session(), __version__, STREAMING)
    attempt = _Attempt(STREAMING, http_url(endpoint, path))
    trace.trace(">>", "fallback", f"POST {attempt.url}")
    try:
        stream = open_stream(
            endpoint,
            "POST",
            path,
            timeout=options.timeout,
            deadline=deadline,
            watch=attempt.watch,
            tls=where.tls,
            proxy=options.proxy,
            addresses=tunnel_addresses(options, where.addresses),
        )
    except DialError as err:
        return _dial_failed(attempt, err, endpoint, options)
    except (OSError, http.client.HTTPException) as exc:
        return _no_reply(attempt, exc, options)
    try:
        trace.trace("<<", "fallback", f"{stream.status} {stream.reason}")
        attempt.details.update(status=stream.status, headers=_headers(stream.headers))
        if stream.status != 200:
            return _status_failed(attempt, stream.status, stream.headers)
        client = PusherClient(time.monotonic())
        splitter = FrameSplitter()
        with attempt.watch.phase("handshake"):
            while attempt.handshake is None:
                try:
                    data = stream.read_some(deadline)
                except (TimeoutError, OSError, http.client.HTTPException) as exc:
                    ended = not isinstance(exc, TimeoutError)
                    return _stopped(attempt, client, options, ended=ended)
                frames = splitter.feed(data) if data else splitter.finish()
                _take(attempt, client, frames)
                if not data and attempt.handshake is None:
                    return _stopped(attempt, client, options, ended=True)
    finally:
        stream.close()
    return attempt


def _polling(where: _Where) -> _Attempt:
    """Each request's reply is whole: ``o`` first, the handshake in a later one."""
    from wsdiag.exchange import http_exchange

    endpoint, options, deadline = where.endpoint, where.options, where.deadline
    path = receive_path(where.key, new_session(), __version__, POLLING)
    attempt = _Attempt(POLLING, http_url(endpoint, path))
    client = PusherClient(time.monotonic())
    for _ in range(MAX_POLLS):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        trace.trace(">>", "fallback", f"POST {attempt.url}")
        try:
            reply = http_exchange(
                endpoint,
                "POST",
                path,
                body=b"",
                timeout=remaining,
                deadline=deadline,
                watch=attempt.watch,
                tls=where.tls,
                proxy=options.proxy,
                addresses=tunnel_addresses(options, where.addresses),
            )
        except DialError as err:
            return _dial_failed(attempt, err, endpoint, options)
        except TimeoutError:
            break
        except (OSError, http.client.HTTPException) as exc:
            return _no_reply(attempt, exc, options)
        trace.trace("<<", "fallback", f"{reply.status} {reply.reason} {reply.body[:200]!r}")
        attempt.details.update(status=reply.status, headers=_headers(reply.headers))
        if reply.status != 200:
            return _status_failed(attempt, reply.status, reply.headers)
        splitter = FrameSplitter()
        _take(attempt, client, splitter.feed(reply.body) + splitter.finish())
        if attempt.handshake is not None:
            return attempt
    return _stopped(attempt, client, options, ended=False)


def _take(attempt: _Attempt, client: PusherClient, frames: Sequence[object]) -> None:
    """Frames in, as pusher-js's HTTP socket takes them, until the handshake's outcome."""
    for frame in frames:
        if attempt.handshake is not None:
            return
        trace.trace("<<", "fallback", repr(frame))
        if isinstance(frame, Open):
            attempt.details["opened"] = True
        elif isinstance(frame, Messages) and attempt.details.get("opened"):
            # pusher-js drops messages that come before the open frame
            for text in frame.frames:
                for event in client.receive_text(text, time.monotonic()):
                    if isinstance(event, Connected | HandshakeFailed):
                        attempt.handshake = event
        elif isinstance(frame, Close):
            for event in client.receive_close(frame.code, frame.reason):
                if isinstance(event, HandshakeFailed):
                    attempt.handshake = event
        elif isinstance(frame, Garbled) and attempt.evidence is None:
            attempt.evidence = frame.text


# ---------------------------------------------------------------- failures


def _dial_failed(
    attempt: _Attempt, err: DialError, endpoint: Endpoint, options: CheckOptions
) -> _Attempt:
    found = classify_dial(err, endpoint.host, endpoint.port, options.timeout)
    attempt.details["address"] = err.address
    return attempt.fail(found.summary, found.kind, found.cause, found.fix)


def _no_reply(attempt: _Attempt, exc: BaseException, options: CheckOptions) -> _Attempt:
    if isinstance(exc, TimeoutError):
        # A proxy that buffers a streamed reply may hold its head too: polling may pass.
        attempt.stalled = True
        return attempt.fail(
            f"no reply within {options.timeout:g} s",
            ErrorKind.FALLBACK_TIMEOUT,
            "the connection was made, but no HTTP reply came to the streaming request: "
            "something in between buffers streamed replies (a proxy, antivirus), or the "
            "server holds requests",
            "let the proxy pass streamed replies unbuffered (nginx: proxy_buffering off), "
            "or go around it",
        )
    return attempt.fail(
        f"no HTTP reply: {exc}",
        ErrorKind.FALLBACK_REJECTED,
        f"the connection was made, but the reply was no HTTP ({type(exc).__name__}: {exc})",
        "check that this port serves HTTPS (or HTTP for a ws:// target)",
    )


def _status_failed(attempt: _Attempt, status: int, headers: dict[str, str]) -> _Attempt:
    via = headers.get("via") or headers.get("server")
    came = f" (it came through {via})" if via else ""
    if status in NOT_SERVED:
        return attempt.fail(
            f"HTTP {status}: no fallback route",
            ErrorKind.FALLBACK_NOT_SERVED,
            f"the server answered {status} to pusher-js's {attempt.transport} URL{came}: "
            "it serves no HTTP fallback",
            "",  # the record's fix says what that means for this target
        )
    return attempt.fail(
        f"HTTP {status}",
        ErrorKind.FALLBACK_REJECTED,
        f"the fallback request was answered {status}{came}, not 200 with a stream",
        "a proxy or firewall in between may refuse it: check its logs for this URL",
    )


def _stopped(
    attempt: _Attempt, client: PusherClient, options: CheckOptions, *, ended: bool
) -> _Attempt:
    """The reply ended, or the deadline passed, before the handshake."""
    opened = bool(attempt.details.get("opened"))
    seen = f'; it began with "{attempt.evidence}"' if attempt.evidence else ""
    if ended:
        what = "after the open frame" if opened else "without an open frame"
        return attempt.fail(
            f"the reply ended {what}",
            ErrorKind.FALLBACK_REJECTED,
            f"the server answered 200 but ended the reply {what}, before "
            f"pusher:connection_established{seen}",
            "check that this is a Pusher fallback endpoint, and any proxy in between",
        )
    attempt.stalled = not opened
    if opened:
        return attempt.fail(
            f"no pusher:connection_established within {options.timeout:g} s",
            ErrorKind.PUSHER_NO_HANDSHAKE,
            "the fallback session opened, but the Pusher handshake never came",
            "check the server's logs for this session",
        )
    return attempt.fail(
        f"nothing within {options.timeout:g} s of the 200 reply",
        ErrorKind.FALLBACK_TIMEOUT,
        f"the reply started (200) but no open frame came in time{seen}: something in "
        "between buffers streamed replies (a proxy, antivirus, or a captive portal)",
        "let the proxy pass streamed replies unbuffered (nginx: proxy_buffering off), "
        "or go around it",
    )


# ---------------------------------------------------------------- the record


def _record(
    endpoint: Endpoint,
    key: str,
    attempts: Sequence[_Attempt],
    *,
    self_hosted: bool,
    options: CheckOptions,
) -> StageResult:
    last = attempts[-1]
    details: dict[str, Any] = {"transport": last.transport, "url": last.url, **last.details}
    if options.proxy:
        details["proxy"] = options.proxy.label
    if len(attempts) > 1:
        details["tried"] = [a.transport for a in attempts]
    phases = tuple(phase for a in attempts for phase in a.watch.frozen())
    subject = http_url(endpoint)

    def record(
        status: Status,
        summary: str,
        kind: ErrorKind | None = None,
        cause: str | None = None,
        fix: str | None = None,
        outcome: Handshake | None = None,
    ) -> StageResult:
        return StageResult(
            Stage.FALLBACK,
            subject,
            status,
            summary,
            kind,
            cause,
            fix,
            details,
            phases,
            outcome=outcome,
        )

    handshake = last.handshake
    carried = _TRANSPORT_NAMES[last.transport]
    stalled_first = len(attempts) > 1
    if isinstance(handshake, Connected):
        details.update(socket_id=handshake.socket_id, activity_timeout=handshake.activity_timeout)
        outcome = Handshake(handshake.socket_id, handshake.activity_timeout, transport=carried)
        summary = f"{last.transport} connected, socket_id {handshake.socket_id}"
        if stalled_first:
            return record(Status.WARN, summary, *_polling_only(attempts[0]), outcome=outcome)
        return record(Status.OK, summary, outcome=outcome)
    if isinstance(handshake, HandshakeFailed) and handshake.code is not None:
        code, message = handshake.code, handshake.message
        details.update(close_code=code, message=message)
        if code == 4001 and key == PLACEHOLDER_KEY:
            return record(
                Status.OK,
                f"{last.transport} reached Pusher: placeholder key rejected with 4001 as expected",
                outcome=Handshake(close_code=code, placeholder_key=True, transport=carried),
            )
        info = explain_code(code, self_hosted=self_hosted)
        summary = f"{code} {info.title}" + (f": {message}" if message else "")
        return record(
            Status.FAIL,
            summary,
            info.kind,
            info.cause(message),
            info.fix,
            Handshake(close_code=code, transport=carried),
        )
    if isinstance(handshake, HandshakeFailed):
        return record(
            Status.FAIL,
            handshake.message,
            ErrorKind.PUSHER_BAD_FRAME if handshake.bad_frame else ErrorKind.PUSHER_ERROR,
            "the fallback session opened but its first Pusher frame was not the handshake",
            "check that this endpoint speaks the Pusher protocol",
        )
    first = attempts[0]
    assert first.failure is not None  # no handshake: every attempt ended with a failure
    summary, kind, cause, fix = first.failure
    if stalled_first and last.failure is not None:
        summary = f"{summary}; {POLLING} too: {last.failure[0]}"
        cause = f"{cause}; xhr_polling, tried next, failed too: {last.failure[2]}"
    if kind is ErrorKind.FALLBACK_NOT_SERVED:
        fix = _not_served_fix(endpoint, self_hosted)
    return record(Status.FAIL, summary, kind, cause, fix)


def _polling_only(streaming: _Attempt) -> tuple[ErrorKind, str, str]:
    assert streaming.failure is not None
    _, kind, cause, fix = streaming.failure
    return (
        kind,
        f"{cause}; xhr_polling works, which pusher-js starts 4 s after streaming: clients "
        "on the fallback connect later and make one request per message",
        fix,
    )


def _not_served_fix(endpoint: Endpoint, self_hosted: bool) -> str:
    if not self_hosted:
        return "this is the cluster's fallback host: check the host name and port"
    return (
        "when WebSocket fails, or has not connected within 2 s, pusher-js starts its HTTP "
        "fallback on httpHost, which defaults to sockjs-CLUSTER.pusher.com (Pusher's servers, "
        "which do not know this app; before pusher-js 8.2 WebSocket got two attempts and then "
        "only the fallback was used). Set enabledTransports: ['ws', 'wss'] in the client "
        "(Laravel Echo passes the same option), then run wsdiag with --enabled-transports ws,wss"
    )


def _headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name in _HEADERS}
