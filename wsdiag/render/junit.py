"""``--junit FILE``: JUnit XML for CI dashboards, one testcase per stage and subject (issue 14).

Names are stable across runs, so a dashboard can follow one test from run to
run: what changes from one run to the next — the random test channel
(``private-wsdiag-3f9a…``), socket ids, the addresses DNS hands out and the
one a Happy Eyeballs race picked — is kept out of the name and put in the
testcase's ``<properties>`` and ``<system-out>``. A reach or tls testcase is
named by host, port and address family (``ws-mt1.pusher.com:443 IPv4``, ``#2``
for the next address of that family); a websocket testcase by its URL.

Times are real: a testcase's ``time`` is the wall time its result took and the
suite's is the run's wall time (``Timeline``), not a sum of phases.

failed → ``<failure>``, skipped → ``<skipped>``, warn → passes with the warning in
``<system-out>`` (``--fail-on warn`` changes the exit code, not the XML). An
interrupted run still yields a report of what ran, plus an ``<error>`` testcase
``interrupted`` holding the time spent in the stage that was cut short.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from wsdiag import __version__
from wsdiag.models import ErrorKind, Report, Stage, StageResult, Status
from wsdiag.render import Renderer
from wsdiag.render.verdict import verdict

# The end-to-end stages' channel: f"private-wsdiag-{token_hex(6)}" (checks/delivery.py).
TEST_CHANNEL = re.compile(r"\bprivate-wsdiag-[0-9a-f]{12}\b")
# Stages whose phases are latency samples (round trips, event latencies), not a
# stopwatch of the stage: a ping that timed out or an event that never came took
# time no sample shows, and the samples of overlapping events add up to more
# than elapsed. They run right after the record before them, so they are timed
# from that record's arrival.
SAMPLED_STAGES = frozenset({Stage.PING, Stage.DELIVERY})
# Findings that repeat the subject of the record they judge.
FINDING_NAMES = {ErrorKind.LATENCY_EXCEEDED: "--max-latency-ms"}
# XML 1.0 cannot carry these even escaped; hostile input (a server's reply) may.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Timeline:
    """When the run started and when each result reached the report, on the monotonic clock."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._started = clock()
        self._arrivals: dict[int, float] = {}
        self._seen: list[StageResult] = []  # keeps each result alive, so its id stays its own

    def start(self) -> None:
        self._started = self._clock()

    def arrived(self, result: StageResult) -> None:
        self._arrivals[id(result)] = self.elapsed()
        self._seen.append(result)

    def arrival(self, result: StageResult) -> float | None:
        """Seconds from the start to when ``result`` arrived; None if it never went by."""
        return self._arrivals.get(id(result))

    def elapsed(self) -> float:
        return self._clock() - self._started


class JunitRecorder:
    """The report's renderer, with the ``Timeline`` the JUnit report is timed by beside it."""

    def __init__(self, renderer: Renderer, timeline: Timeline | None = None) -> None:
        self.renderer = renderer
        self.timeline = timeline or Timeline()

    def start(self, report: Report) -> None:
        self.timeline.start()
        self.renderer.start(report)

    def on_result(self, result: StageResult) -> None:
        self.timeline.arrived(result)
        self.renderer.on_result(result)

    def finish(self, report: Report, exit_code: int) -> None:
        self.renderer.finish(report, exit_code)


def render_junit(
    report: Report, *, exit_code: int | None = None, timeline: Timeline | None = None
) -> str:
    results = report.results
    times = case_times(results, timeline)
    interrupted = report.interrupted
    suite = ET.Element(
        "testsuite",
        name=_xml(f"wsdiag {report.command} {report.target}"),
        tests=str(len(results) + interrupted),
        failures=str(sum(r.status is Status.FAIL for r in results)),
        errors=str(int(interrupted)),
        skipped=str(sum(r.status is Status.SKIPPED for r in results)),
        time=_seconds(timeline.elapsed() if timeline else sum(times)),
        timestamp=datetime.fromtimestamp(report.started_at, UTC).isoformat(timespec="seconds"),
    )
    _properties(
        suite,
        {
            "wsdiag.version": __version__,
            "command": report.command,
            "target": report.target,
            "status": "interrupted" if interrupted else str(report.status),
            "exit_code": "" if exit_code is None else str(exit_code),
            "verdict": verdict(report),
        },
    )
    for result, name, seconds in zip(results, case_names(results), times, strict=True):
        _testcase(suite, result, name, seconds)
    if interrupted:
        _interrupted_case(suite, report, results, timeline)
    if report.notes:
        ET.SubElement(suite, "system-out").text = _xml(
            "\n".join(f"note: {n}" for n in report.notes)
        )
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


# ---------------------------------------------------------------- names


def case_names(results: Sequence[StageResult]) -> list[str]:
    """A name per result, unique within its stage and the same from run to run."""
    names: list[str] = []
    seen: dict[tuple[Stage, str], int] = {}
    for result in results:
        name = stable_name(result.subject)
        if result.kind in FINDING_NAMES:
            name = f"{name} {FINDING_NAMES[result.kind]}"
        count = seen[result.stage, name] = seen.get((result.stage, name), 0) + 1
        names.append(name if count == 1 else f"{name} #{count}")
    return names


def stable_name(subject: str) -> str:
    """``subject`` without what changes between runs (see the module's docstring)."""
    words = TEST_CHANNEL.sub("private-wsdiag-*", subject).split(" ")
    # "wss://host:443 via 192.0.2.7": the address the race picked this time
    if len(words) >= 3 and words[-2] == "via" and _address_and_port(words[-1]):
        words = words[:-2]
    # "host 192.0.2.7:443" (reach, tls): one testcase per host, port and family
    if len(words) == 2 and not _address_and_port(words[0]):
        found = _address_and_port(words[1])
        if found and found[1] is not None:
            address, port = found
            words = [f"{words[0]}:{port}", f"IPv{address.version}"]
    return " ".join(words)


def _address_and_port(
    word: str,
) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int | None] | None:
    """``192.0.2.7``, ``192.0.2.7:443``, ``2001:db8::1``, ``[2001:db8::1]:443``; else None."""
    host, port = word, None
    if word.startswith("["):
        host, _, rest = word[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
    elif word.count(":") == 1:
        host, port = word.split(":")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if port is not None and not port.isdigit():
        return None
    return address, int(port) if port else None


# ---------------------------------------------------------------- times


def case_times(results: Sequence[StageResult], timeline: Timeline | None) -> list[float]:
    """Each result's real elapsed seconds.

    A stage's phases are stopwatch readings of its own work, and they are its
    time — also when it ran alongside others (every address probed at once).
    A sampled stage (ping, delivery) is timed from the previous record's
    arrival to its own; without a timeline, or for records that never reached
    the renderer (threshold findings), the phases are all there is.
    """
    times: list[float] = []
    previous: float | None = None
    for result in results:
        arrived = timeline.arrival(result) if timeline else None
        seconds = result.elapsed_ms / 1000
        if result.stage in SAMPLED_STAGES and arrived is not None and previous is not None:
            seconds = max(arrived - previous, 0.0)
        times.append(seconds)
        if arrived is not None:
            previous = arrived
    return times


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


# ---------------------------------------------------------------- elements


def _testcase(suite: ET.Element, result: StageResult, name: str, seconds: float) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"wsdiag.{result.stage}",
        name=_xml(name),
        time=_seconds(seconds),
    )
    _properties(case, _volatile(result, name))
    explanation = "\n".join(
        line
        for line in (
            result.summary,
            f"cause: {result.cause}" if result.cause else "",
            f"fix: {result.fix}" if result.fix else "",
        )
        if line
    )
    if result.status is Status.FAIL:
        failure = ET.SubElement(
            case,
            "failure",
            message=_xml(result.cause or result.summary),
            type=str(result.kind or ""),
        )
        failure.text = _xml(explanation)
    elif result.status is Status.SKIPPED:
        ET.SubElement(case, "skipped", message=_xml(result.summary))
    lines = [
        f"subject: {result.subject}",
        f"status: {result.status}",
        explanation if result.status is not Status.FAIL else "",
        "phases: " + ", ".join(f"{p.name}={p.ms:.1f}ms" for p in result.phases)
        if result.phases
        else "",
        "details: " + json.dumps(dict(result.details), ensure_ascii=False),
    ]
    ET.SubElement(case, "system-out").text = _xml("\n".join(line for line in lines if line))


def _volatile(result: StageResult, name: str) -> dict[str, str]:
    """What this run saw that the name leaves out: the subject, addresses, channel, socket id."""
    found: dict[str, str] = {}
    if result.subject != name:
        found["subject"] = result.subject
    for word in result.subject.split(" "):
        if (pair := _address_and_port(word)) and str(pair[0]) not in name:
            found["address"] = str(pair[0])
    if channel := TEST_CHANNEL.search(result.subject):
        found["channel"] = channel.group()
    for key in ("address", "channel", "socket_id"):
        value = result.details.get(key)
        if isinstance(value, str) and value:
            found.setdefault(key, value)
    return found


def _properties(parent: ET.Element, values: dict[str, str]) -> None:
    if not values:
        return
    properties = ET.SubElement(parent, "properties")
    for key, value in values.items():
        ET.SubElement(properties, "property", name=key, value=_xml(value))


def _interrupted_case(
    suite: ET.Element,
    report: Report,
    results: Sequence[StageResult],
    timeline: Timeline | None,
) -> None:
    """What was running when Ctrl-C came has no record: say so, with the time it had had."""
    arrivals = [a for r in results if timeline and (a := timeline.arrival(r)) is not None]
    cut_short = timeline.elapsed() - max(arrivals, default=0.0) if timeline else 0.0
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"wsdiag.{report.command}",
        name="interrupted",
        time=_seconds(cut_short),
    )
    done = f"after {len(results)} result(s)" if results else "before any result"
    ET.SubElement(
        case, "error", message=f"interrupted {done}: later stages did not run", type="interrupted"
    )


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
