"""fanout's verdict from patterns real servers do not produce on demand (judge is pure code).

The split, a lost Redis and the passing case are judged against real soketi
nodes in tests/faults/test_fanout_faults.py; these are the other classes.
"""

from __future__ import annotations

from wsdiag.fanout import Fanout, SocketView, judge
from wsdiag.models import ErrorKind, Status


def run_with(
    *arrivals: list[int], members: list[set[str]] | None = None, events: int = 4
) -> Fanout:
    views = [SocketView(i, socket_id=f"{i}.1") for i in range(len(arrivals))]
    for view, got in zip(views, arrivals, strict=True):
        view.arrivals = [(seq, 1.0 + seq) for seq in got]
        view.members = (members or [])[view.index] if members else {"a", "b"}
    run = Fanout("ws://x", "private-wsdiag-fanout-t", "presence-wsdiag-fanout-t", events, views)
    judge(run)
    return run


def test_everything_everywhere_passes() -> None:
    run = run_with([0, 1, 2, 3], [0, 1, 2, 3])
    assert run.status is Status.OK and run.kind is None


def test_presence_that_differs_per_node() -> None:
    run = run_with([0, 1, 2, 3], [0, 1, 2, 3], members=[{"a", "b"}, {"b"}])
    assert run.kind is ErrorKind.FANOUT_PRESENCE_SPLIT
    assert "(1 / 2 of 2)" in str(run.cause)


def test_the_excluded_socket_receiving_its_own_event() -> None:
    views = run_with([0, 1, 2, 3], [0, 1, 2, 3]).sockets
    run = Fanout("ws://x", "private-c", "presence-c", 4, views, excluded_seq=4)
    for view in views:
        view.arrivals.append((4, 2.0))  # socket 0 got it too
    judge(run)
    assert run.kind is ErrorKind.FANOUT_EXCLUSION_IGNORED


def test_duplicates_and_order() -> None:
    assert run_with([0, 1, 1, 2, 3], [0, 1, 2, 3]).kind is ErrorKind.FANOUT_DUPLICATES
    late = run_with([0, 2, 1, 3], [0, 1, 2, 3])
    assert late.status is Status.WARN and late.kind is ErrorKind.FANOUT_OUT_OF_ORDER


def test_an_event_lost_everywhere_is_loss_not_a_split() -> None:
    run = run_with([0, 1, 2], [0, 1, 2])  # event 3 reached nobody
    assert run.kind is ErrorKind.EVENT_LOST
    assert run.summary == "2 event(s) lost on 2 of 2 socket(s)"


def test_a_socket_that_never_connected() -> None:
    run = run_with([0, 1, 2, 3], [0, 1, 2, 3])
    run.sockets[1].error = "could not connect: refused"
    run.sockets[1].arrivals = []
    judge(run)
    assert run.kind is ErrorKind.FANOUT_NO_SOCKETS and "1 of 2" in run.summary


def test_one_event_missing_on_one_socket_is_loss_not_a_split() -> None:
    run = run_with([0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 3], [0, 1, 2, 3])
    assert run.kind is ErrorKind.EVENT_LOST


def test_the_excluded_socket_is_the_first_that_connected() -> None:
    views = run_with([], [0, 1, 2, 3], [0, 1, 2, 3, 4]).sockets
    views[0].error = "could not connect: refused"
    run = Fanout("ws://x", "private-c", "presence-c", 4, views, excluded_seq=4, excluded_socket=1)
    judge(run)
    assert run.lost(views[1]) == set()  # the sender is not owed its own event
    assert run.kind is ErrorKind.FANOUT_NO_SOCKETS
