"""``wsdiag fanout``: do events published anywhere reach sockets everywhere? (issue 11)

Behind a load balancer a self-hosted deployment is several nodes joined by a
pub/sub adapter (soketi and Reverb: Redis). When the nodes do not share it, an
event published through node A reaches only the sockets on node A, and nothing
says so. This opens N separate connections (so a balancer spreads them),
subscribes every one to one fresh private channel and one presence channel
(each as its own user), publishes M numbered events, each over a fresh HTTP
connection (so the publishing side is spread too), and reads what each socket
got: lost, duplicated, out of order, how fast. Then ``judge`` names the class
of failure from the pattern: sockets in groups that each got a different share
of the events is the signature of nodes that do not share pub/sub.

The socket-id exclusion (pusher-js ``toOthers()``): one more event published
with the first socket's id, which that socket must not receive.
"""

from __future__ import annotations

import json
import secrets
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wsdiag.checks import CheckOptions
from wsdiag.credentials import Credentials
from wsdiag.models import ErrorKind, Status
from wsdiag.target import Target

FANOUT_EVENT = "wsdiag-fanout"
NODE_HEADERS = ("x-served-by", "x-backend-server", "x-upstream", "x-node", "server", "via")


@dataclass
class SocketView:
    """What one connection saw."""

    index: int
    socket_id: str | None = None
    address: str | None = None
    node: str | None = None  # what the balancer or server says about the node, if anything
    error: str | None = None  # could not connect or subscribe
    closed: tuple[int, str] | None = None  # (code, reason): the server closed it mid-run
    arrivals: list[tuple[int, float]] = field(default_factory=list)  # (seq, ms after publish)
    members: set[str] = field(default_factory=set)  # presence user ids this socket sees

    @property
    def received(self) -> set[int]:
        return {seq for seq, _ in self.arrivals}

    @property
    def duplicates(self) -> int:
        return len(self.arrivals) - len(self.received)

    @property
    def out_of_order(self) -> int:
        """Arrivals with a lower number than one before them."""
        highest, count = -1, 0
        for seq, _ in self.arrivals:
            if seq < highest:
                count += 1
            highest = max(highest, seq)
        return count


@dataclass
class Fanout:
    target: str
    channel: str
    presence_channel: str
    events: int  # numbered 0..events-1, to every socket
    sockets: list[SocketView]
    excluded_seq: int | None = None  # the toOthers() event, published with one socket's id
    excluded_socket: int = 0  # that socket's index (the first that connected)
    sent_at: dict[int, float] = field(default_factory=dict)  # seq -> perf_counter at publish
    publish_errors: list[str] = field(default_factory=list)
    status: Status = Status.OK
    kind: ErrorKind | None = None
    summary: str = ""
    cause: str | None = None
    fix: str | None = None

    def expected(self, view: SocketView) -> set[int]:
        wanted = set(range(self.events))
        if self.excluded_seq is not None and view.index != self.excluded_socket:
            wanted.add(self.excluded_seq)
        return wanted

    def lost(self, view: SocketView) -> set[int]:
        return self.expected(view) - view.received if view.error is None else set()

    def latency(self, view: SocketView) -> dict[str, float] | None:
        times = sorted(ms for seq, ms in view.arrivals if seq < self.events)
        if not times:
            return None
        p95 = times[max(0, -(-95 * len(times) // 100) - 1)]
        return {"median": round(statistics.median(times), 3), "p95": round(p95, 3)}


Progress = Callable[[str], None]


def run_fanout(
    target: Target,
    credentials: Credentials,
    options: CheckOptions,
    sockets: int,
    events: int,
    *,
    exclusion: bool = True,
    progress: Progress = lambda text: None,
) -> Fanout:
    from wsdiag.concurrency import map_bounded

    tag = secrets.token_hex(5)
    run = Fanout(
        target.label,
        f"private-wsdiag-fanout-{tag}",
        f"presence-wsdiag-fanout-{tag}",
        events,
        [SocketView(i) for i in range(sockets)],
    )
    progress(f"connecting {sockets} sockets")
    sessions = map_bounded(
        lambda view: _connect(view, target, credentials, run, options),
        run.sockets,
        8,
        "wsdiag-fanout",
    )
    try:
        progress("joining the presence channel")
        # One at a time: members joining on two nodes at the same instant race in any
        # distributed presence (each node's lookup misses the other's newest member);
        # joined in turn, a difference left is the deployment's, not the race's.
        for index, (view, session) in enumerate(zip(run.sockets, sessions, strict=True)):
            if session is not None and not _join(
                view, session, run.presence_channel, _signer(credentials, view), options
            ):
                sessions[index] = None
        live = [(v, s) for v, s in zip(run.sockets, sessions, strict=True) if s is not None]
        readers = [_Reader(view, session, run) for view, session in live]
        for reader in readers:
            reader.start()
        time.sleep(min(1.0, options.timeout / 2))  # presence: let member_added events settle
        if live:
            progress(f"publishing {events} events")
            run.excluded_socket = live[0][0].index
            _publish(run, target, credentials, options, live[0][1].socket_id if exclusion else None)
        deadline = time.monotonic() + options.timeout
        while time.monotonic() < deadline and any(
            run.lost(r.view) for r in readers if not r.closed
        ):
            time.sleep(0.05)
        time.sleep(min(0.3, options.timeout / 4))  # a late duplicate or excluded event shows too
        for reader in readers:
            reader.stop()
    finally:
        for session in sessions:
            if session is not None:
                session.close()
    judge(run)
    return run


def _connect(
    view: SocketView,
    target: Target,
    credentials: Credentials,
    run: Fanout,
    options: CheckOptions,
) -> Any:
    from wsdiag.checks.websocket import open_pusher

    result, session = open_pusher(target.websocket, None, target.app_key, options)
    view.address = result.details.get("address")
    headers = result.details.get("headers") or {}
    view.node = next((f"{h}: {headers[h]}" for h in NODE_HEADERS if headers.get(h)), None)
    if session is None:
        view.error = f"could not connect: {result.summary}"
        return None
    view.socket_id = session.socket_id
    if not _join(view, session, run.channel, _signer(credentials, view), options):
        return None
    return session


def _signer(credentials: Credentials, view: SocketView) -> Any:
    """Channel auth signed here, each socket its own presence user."""
    from wsdiag.channels.auth import LocalAuthorizer

    assert credentials.key and credentials.secret
    return LocalAuthorizer(credentials.key, credentials.secret, user_id=f"wsdiag-{view.index}")


def _join(view: SocketView, session: Any, channel: str, signer: Any, options: CheckOptions) -> bool:
    """Subscribe and wait for it; False (the view's error said, the session closed) when refused."""
    from wsdiag.checks.delivery import await_subscription

    auth = signer.authorize(session.socket_id, channel)
    session.subscribe(channel, auth=auth.auth, data=auth.channel_data)

    def members(event: Any) -> None:
        view.members |= _presence_ids(event.data)

    refused = await_subscription(session, channel, options.timeout, members)
    if refused is None:
        return True
    view.error = f"could not subscribe to {channel}: {refused[1]}"
    session.close()
    return False


def _presence_ids(data: Any) -> set[str]:
    presence = data.get("presence") if isinstance(data, dict) else None
    ids = presence.get("ids") if isinstance(presence, dict) else None
    return {str(i) for i in ids} if isinstance(ids, list) else set()


class _Reader(threading.Thread):
    """Reads one socket until stopped: test events with their arrival times, presence changes."""

    def __init__(self, view: SocketView, session: Any, run: Fanout) -> None:
        super().__init__(daemon=True, name=f"wsdiag-fanout-{view.index}")
        self.view, self.session, self.fanout = view, session, run
        self.sent_at: dict[int, float] = {}
        self._halt = threading.Event()
        self.closed = False

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)

    def run(self) -> None:
        from wsdiag.pusher.client import Closed, Message

        while not self._halt.is_set():
            for event in self.session.next_events(time.monotonic() + 0.1):
                if isinstance(event, Closed):
                    self.view.closed = (event.code, event.reason)
                    self.closed = True
                    return
                if not isinstance(event, Message):
                    continue
                frame = event.event
                if frame.event == FANOUT_EVENT and frame.channel == self.fanout.channel:
                    seq = frame.data.get("seq") if isinstance(frame.data, dict) else None
                    sent = self.fanout.sent_at.get(seq) if isinstance(seq, int) else None
                    if isinstance(seq, int) and sent is not None:
                        self.view.arrivals.append((seq, (time.perf_counter() - sent) * 1000))
                elif frame.channel == self.fanout.presence_channel and isinstance(frame.data, dict):
                    user = frame.data.get("user_id")
                    if frame.event == "pusher_internal:member_added" and user is not None:
                        self.view.members.add(str(user))
                    elif frame.event == "pusher_internal:member_removed" and user is not None:
                        self.view.members.discard(str(user))


def _publish(
    run: Fanout,
    target: Target,
    credentials: Credentials,
    options: CheckOptions,
    exclude_socket: str | None,
) -> None:
    from wsdiag.checks.api import explain_response
    from wsdiag.httpapi import ApiError, api_request

    numbered: list[tuple[int, str | None]] = [(seq, None) for seq in range(run.events)]
    if exclude_socket:
        run.excluded_seq = run.events
        numbered.append((run.events, exclude_socket))
    for seq, socket_id in numbered:
        payload: dict[str, Any] = {
            "name": FANOUT_EVENT,
            "channels": [run.channel],
            "data": json.dumps({"seq": seq}),
        }
        if socket_id:
            payload["socket_id"] = socket_id
        run.sent_at[seq] = time.perf_counter()
        try:
            reply = api_request(  # a fresh connection each: a balancer spreads them
                target.api,
                credentials,
                "POST",
                f"/apps/{credentials.app_id}/events",
                body=json.dumps(payload, separators=(",", ":")).encode(),
                timeout=options.timeout,
                ca_bundle=options.ca_bundle,
                verify_tls=options.verify_tls,
                proxy=options.proxy,
            )
        except ApiError as exc:
            run.publish_errors.append(f"event {seq}: {exc}")
            continue
        judged = explain_response(reply, credentials, run.channel)  # soketi: 200 with an error
        if judged.failed:
            run.publish_errors.append(f"event {seq}: {judged.summary}")


# ---------------------------------------------------------------- the verdict


def judge(run: Fanout) -> None:
    """Name the failure class from what every socket saw (sets status, kind, summary…)."""
    connected = [v for v in run.sockets if v.error is None]
    broken = [v for v in run.sockets if v.error is not None]
    lossy = [v for v in connected if run.lost(v)]
    nodes = {v.node for v in run.sockets if v.node}

    def verdict(kind: ErrorKind, summary: str, cause: str, fix: str) -> None:
        run.status, run.kind, run.summary, run.cause, run.fix = (
            Status.FAIL, kind, summary, cause, fix,
        )  # fmt: skip

    if not connected:
        first = broken[0].error if broken else "no socket"
        verdict(ErrorKind.FANOUT_NO_SOCKETS, "no socket connected", first or "",
                "run `wsdiag check` against the target first")  # fmt: skip
        return
    closed = [v for v in connected if v.closed is not None]
    if closed:
        code, reason = closed[0].closed or (1006, "")
        from wsdiag.pusher.codes import explain_code

        info = explain_code(code)
        verdict(
            info.kind,
            f"the server closed {len(closed)} of {len(connected)} socket(s) mid-run "
            f"({code} {reason or info.title})",
            f"{info.cause(reason)}; the events published while a socket was gone are lost to "
            "it (pusher-js reconnects and resubscribes, but nothing is replayed)",
            f"{info.fix}; a soketi node closes its sockets with 4200 when it loses its Redis: "
            "check the nodes' logs and the adapter's Redis",
        )
        return
    if run.publish_errors:
        verdict(
            ErrorKind.API_UNEXPECTED_STATUS,
            f"{len(run.publish_errors)} event(s) could not be published",
            "; ".join(run.publish_errors[:3]),
            "run `wsdiag publish` with the same credentials for the whole reply",
        )
        return
    everywhere = set(range(run.events))
    reached_some = set().union(*(v.received for v in connected)) & everywhere
    shares = {frozenset(v.received & everywhere) for v in connected}
    # Each node delivers only its own share: the groups' shares do not overlap. One event
    # missing on one socket is loss, not a split.
    disjoint = sum(len(share) for share in shares) == len(set().union(*shares))
    if lossy and reached_some == everywhere and len(shares) > 1 and disjoint:
        groups = ", ".join(
            f"{sum(1 for v in connected if frozenset(v.received & everywhere) == share)} "
            f"socket(s) got {len(share)}/{run.events}"
            for share in sorted(shares, key=len, reverse=True)
        )
        where = f" (the balancer names {len(nodes)} nodes)" if len(nodes) > 1 else ""
        verdict(
            ErrorKind.FANOUT_SPLIT,
            "events published on one node do not reach sockets on another",
            f"every event reached some sockets, but the sockets fall in groups that each got a "
            f"different share ({groups}){where}: each node delivers only what was published "
            "through it, so the nodes are not sharing pub/sub",
            "configure the same pub/sub adapter on every node (soketi: SOKETI_ADAPTER_DRIVER="
            "redis and the same SOKETI_DB_REDIS_*; Reverb: REVERB_SCALING_ENABLED=true with a "
            "shared Redis), and check each node's logs for its Redis connection",
        )
        return
    if lossy:
        lost = sum(len(run.lost(v)) for v in lossy)
        verdict(
            ErrorKind.EVENT_LOST,
            f"{lost} event(s) lost on {len(lossy)} of {len(connected)} socket(s)",
            "the API accepted every event, but some sockets never received some of them"
            + (f"; {len(broken)} socket(s) dropped or never connected" if broken else ""),
            "check the server's logs for dropped messages and its pub/sub adapter's health",
        )
        return
    excluded = run.excluded_seq
    sender = run.sockets[run.excluded_socket]
    if excluded is not None and excluded in sender.received:
        verdict(
            ErrorKind.FANOUT_EXCLUSION_IGNORED,
            "socket_id exclusion (toOthers) not honoured",
            f"the event published with socket_id {sender.socket_id} reached that socket too",
            "the server ignores the API's socket_id: upgrade it, or exclude the sender yourself",
        )
        return
    views = {frozenset(v.members) for v in connected}
    if len(views) > 1:
        counts = sorted({len(m) for m in views})
        verdict(
            ErrorKind.FANOUT_PRESENCE_SPLIT,
            "presence lists differ per node",
            f"the sockets see different members of {run.presence_channel} "
            f"({' / '.join(map(str, counts))} of {len(connected)}): presence is kept per node",
            "share presence between nodes through the same pub/sub adapter as events",
        )
        return
    duplicated = [v for v in connected if v.duplicates]
    if duplicated:
        verdict(
            ErrorKind.FANOUT_DUPLICATES,
            f"events arrived twice on {len(duplicated)} socket(s)",
            "a socket received the same event more than once: a node subscribed to pub/sub "
            "twice, or two adapters deliver it",
            "check that each node runs one adapter and subscribes once",
        )
        return
    if broken:
        verdict(
            ErrorKind.FANOUT_NO_SOCKETS,
            f"{len(broken)} of {len(run.sockets)} socket(s) could not connect or subscribe",
            str(broken[0].error),
            "run `wsdiag check` against the target to see why",
        )
        return
    order = sum(v.out_of_order for v in connected)
    run.status = Status.WARN if order else Status.OK
    run.summary = (
        f"{len(connected)} sockets each received all {run.events} events"
        + (f"; {order} arrived out of order" if order else "")
        + (", toOthers() honoured" if excluded is not None else "")
        + f", presence consistent ({len(next(iter(views)))} members)"
    )
    if order:
        run.kind = ErrorKind.FANOUT_OUT_OF_ORDER
        run.cause = "events published one after another arrived in another order on some sockets"
        run.fix = (
            "nodes relay through pub/sub at different speeds: do not rely on order across nodes"
        )


def as_document(run: Fanout, exit_code: int) -> dict[str, Any]:
    from wsdiag import __version__

    return {
        "schema_version": 1,
        "tool": {"name": "wsdiag", "version": __version__},
        "command": "fanout",
        "target": run.target,
        "status": str(run.status),
        "kind": str(run.kind) if run.kind else None,
        "summary": run.summary,
        "cause": run.cause,
        "fix": run.fix,
        "exit_code": exit_code,
        "channel": run.channel,
        "presence_channel": run.presence_channel,
        "events": run.events,
        "exclusion_checked": run.excluded_seq is not None,
        "sockets": [
            {
                "index": v.index,
                "socket_id": v.socket_id,
                "address": v.address,
                "node": v.node,
                "error": v.error,
                "closed": {"code": v.closed[0], "reason": v.closed[1]} if v.closed else None,
                "received": len(v.received & set(range(run.events))),
                "lost": sorted(run.lost(v)),
                "duplicated": v.duplicates,
                "out_of_order": v.out_of_order,
                "latency_ms": run.latency(v),
                "presence_members": len(v.members),
            }
            for v in run.sockets
        ],
    }
