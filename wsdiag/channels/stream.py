"""What ``tail`` observes, as typed records, and the running summary kept over them.

The summary keeps counters only (no event is stored), so memory stays flat
however long ``tail`` runs.
"""

from __future__ import annotations

import fnmatch
import time
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Observed(StrEnum):
    EVENT = "event"  # an app event on a subscribed channel
    SUBSCRIBED = "subscribed"
    SUBSCRIPTION_ERROR = "subscription_error"
    MEMBER_ADDED = "member_added"
    MEMBER_REMOVED = "member_removed"
    STATE = "state"  # connection state change: connecting, connected, disconnected, failed
    WARNING = "warning"  # something odd that did not stop tail (a bad frame, a decrypt failure)


# Slotted, not frozen: one per event of a burst, and a frozen dataclass's __init__ costs
# several times a slotted one's (issue 13).
@dataclass(slots=True)
class TailEvent:
    kind: Observed
    received_at: float  # wall clock, seconds
    channel: str | None = None
    event: str | None = None
    data: Any = None  # parsed JSON when the payload is JSON, else the raw string
    user_id: str | None = None
    message: str | None = None  # human text for states, errors and warnings
    fix: str | None = None
    members: tuple[dict[str, Any], ...] | None = None  # presence: on subscribe
    state: str | None = None  # for STATE: connecting/connected/disconnected/reconnecting/failed
    code: int | None = None  # close or error code, when there is one
    size: int = 0  # bytes of the frame, for truncation notes
    # The JSON text ``data`` was decoded from, when the server sent it as a JSON string:
    # NDJSON embeds it as is instead of encoding ``data`` again (issue 13).
    data_json: str | None = None


def event_matches(event: str, patterns: tuple[str, ...]) -> bool:
    """``--event GLOB`` filter (case-sensitive, like event names); no patterns: everything."""
    return not patterns or any(fnmatch.fnmatchcase(event, p) for p in patterns)


@dataclass
class TailSummary:
    """Counters for the end-of-run summary on stderr."""

    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    per_event: Counter[tuple[str, str]] = field(default_factory=Counter)
    reconnects: int = 0
    failed_subscriptions: list[str] = field(default_factory=list)
    fatal: str | None = None  # why tail gave up, when it did
    connected_once: bool = False  # a tail that never connected watched nothing: a failure
    longest_gap_s: float = 0.0
    total: int = 0  # events recorded (the sum of per_event, kept as it grows)
    _last_event_at: float | None = None  # the previous event's receive time

    def record(self, event: TailEvent) -> None:
        if event.kind is Observed.EVENT and event.channel and event.event:
            self.count_event(event.channel, event.event, event.received_at)
        elif event.kind is Observed.SUBSCRIPTION_ERROR and event.channel:
            self.failed_subscriptions.append(event.channel)
        elif event.kind is Observed.STATE and event.state == "connected":
            self.connected_once = True

    def count_event(self, channel: str, event: str, at: float) -> None:
        """One app event received at ``at`` (tail's burst path calls this directly)."""
        last = self._last_event_at
        if last is not None and at - last > self.longest_gap_s:
            self.longest_gap_s = at - last
        self._last_event_at = at
        self.per_event[(channel, event)] += 1
        self.total += 1

    @property
    def duration_s(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def rate(self) -> float:
        return self.total / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def failed(self) -> bool:
        return bool(self.failed_subscriptions or self.fatal or not self.connected_once)

    def lines(self) -> list[str]:
        """The summary as plain lines (stderr)."""
        out = [
            f"{self.total} event(s) in {self.duration_s:.1f} s ({self.rate:.1f}/s), "
            f"{self.reconnects} reconnect(s), longest gap {self.longest_gap_s:.1f} s"
        ]
        out += [f"  {count:>7}  {ch}  {ev}" for (ch, ev), count in sorted(self.per_event.items())]
        if self.failed_subscriptions:
            out.append("failed subscriptions: " + ", ".join(self.failed_subscriptions))
        if self.fatal:
            out.append(f"stopped: {self.fatal}")
        elif not self.connected_once:
            out.append("never connected: the state lines above say why")
        return out
