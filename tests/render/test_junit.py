"""--junit: stable names, real times, a path checked first, '-' for stdout, interrupted runs.

The renderer is tested on records made here; everything else runs ``python -m
wsdiag`` as CI would, against servers on loopback.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.harness import run_wsdiag, start_wsdiag
from tests.servers.dns import dns_server
from tests.servers.pusher_script import Script, established, scripted_server
from tests.servers.soketi import Soketi
from wsdiag.models import ErrorKind, Phase, Report, Stage, StageResult, Status
from wsdiag.render.junit import Timeline, render_junit

CHANNEL = "private-wsdiag-0123456789ab"


def record(
    stage: Stage,
    subject: str,
    status: Status = Status.OK,
    ms: tuple[float, ...] = (),
    **extra: object,
) -> StageResult:
    phases = tuple(Phase(f"p{i}", v) for i, v in enumerate(ms))
    return StageResult(stage, subject, status, "summary", phases=phases, **extra)  # type: ignore[arg-type]


def cases(xml: str) -> list[ET.Element]:
    return ET.fromstring(xml).findall("testcase")


def properties(case: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}


# ---------------------------------------------------------------- names


def test_names_leave_out_what_changes_between_runs() -> None:
    report = Report(command="check", target="mt1")
    report.results += [
        record(Stage.REACH, "ws-mt1.pusher.com 192.0.2.7:443"),
        record(Stage.REACH, "ws-mt1.pusher.com 192.0.2.9:443"),
        record(Stage.REACH, "ws-mt1.pusher.com [2001:db8::7]:443"),
        record(Stage.REACH, "127.0.0.1:6001"),
        record(Stage.TLS, "ws-mt1.pusher.com 192.0.2.7:443"),
        record(Stage.WEBSOCKET, "wss://ws-mt1.pusher.com:443 via 2001:db8::7"),
        record(Stage.WEBSOCKET, "ws://ws-mt1.pusher.com:80 via proxy"),
        record(Stage.SUBSCRIBE, f"{CHANNEL} via wss://ws-mt1.pusher.com:443"),
        record(Stage.DELIVERY, f"{CHANNEL} via wss://ws-mt1.pusher.com:443"),
        record(
            Stage.DELIVERY,
            f"{CHANNEL} via wss://ws-mt1.pusher.com:443",
            Status.FAIL,
            kind=ErrorKind.LATENCY_EXCEEDED,
        ),
        record(Stage.API, "channels private-wsdiag-*"),
    ]
    found = cases(render_junit(report))
    assert [(c.get("classname"), c.get("name")) for c in found] == [
        ("wsdiag.reach", "ws-mt1.pusher.com:443 IPv4"),
        ("wsdiag.reach", "ws-mt1.pusher.com:443 IPv4 #2"),
        ("wsdiag.reach", "ws-mt1.pusher.com:443 IPv6"),
        ("wsdiag.reach", "127.0.0.1:6001"),  # the user typed this address: it is the target
        ("wsdiag.tls", "ws-mt1.pusher.com:443 IPv4"),
        ("wsdiag.websocket", "wss://ws-mt1.pusher.com:443"),
        ("wsdiag.websocket", "ws://ws-mt1.pusher.com:80 via proxy"),
        ("wsdiag.subscribe", "private-wsdiag-* via wss://ws-mt1.pusher.com:443"),
        ("wsdiag.delivery", "private-wsdiag-* via wss://ws-mt1.pusher.com:443"),
        ("wsdiag.delivery", "private-wsdiag-* via wss://ws-mt1.pusher.com:443 --max-latency-ms"),
        ("wsdiag.api", "channels private-wsdiag-*"),
    ]
    # what the name leaves out is still there, as properties
    assert properties(found[1])["address"] == "192.0.2.9"
    assert properties(found[1])["subject"] == "ws-mt1.pusher.com 192.0.2.9:443"
    assert properties(found[5])["address"] == "2001:db8::7"
    assert properties(found[7])["channel"] == CHANNEL
    assert CHANNEL in (found[8].findtext("system-out") or "")


def test_control_characters_from_a_server_still_make_xml() -> None:
    report = Report(command="check", target="ws://127.0.0.1:1")
    report.results.append(
        StageResult(Stage.WEBSOCKET, "ws://127.0.0.1:1", Status.FAIL, "bad \x00\x1b[31m reply")
    )
    case = cases(render_junit(report))[0]
    assert (case.findtext("failure") or "").startswith("bad \ufffd\ufffd[31m reply")


# ---------------------------------------------------------------- times


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_times_are_wall_times_not_sums_of_samples() -> None:
    clock = FakeClock()
    timeline = Timeline(clock)
    report = Report(command="check", target="ws://127.0.0.1:1")
    ran = [
        record(Stage.REACH, "127.0.0.1:1", ms=(3.0,), started_ms=0.0),
        record(Stage.REACH, "127.0.0.2:1", ms=(900.0,), started_ms=0.0),  # probed alongside
        record(Stage.WEBSOCKET, "ws://127.0.0.1:1 via 127.0.0.1", ms=(2.0, 5.0)),
        # 2 pongs in 1 ms, then one that never came: the stage took its 3 s timeout
        record(Stage.PING, "ws://127.0.0.1:1", Status.FAIL, ms=(0.5, 0.5)),
    ]
    arrivals = [0.903, 0.903, 0.910, 3.911]
    timeline.start()
    for result, at in zip(ran, arrivals, strict=True):
        clock.now = 100.0 + at
        timeline.arrived(result)
        report.results.append(result)
    finding = record(Stage.PING, "ws://127.0.0.1:1", Status.FAIL, kind=ErrorKind.LATENCY_EXCEEDED)
    report.results.append(finding)  # judged after the run: it never went by the renderer
    clock.now = 100.0 + 4.25
    suite = ET.fromstring(render_junit(report, timeline=timeline))
    assert [c.get("time") for c in suite.findall("testcase")] == [
        "0.003",
        "0.900",
        "0.007",
        "3.001",
        "0.000",
    ]
    assert suite.get("time") == "4.250"  # the run's wall time, not the sum of its testcases


def test_without_a_timeline_times_are_the_phases() -> None:
    report = Report(command="publish", target="mt1")
    report.results.append(record(Stage.API, "publish e → c", ms=(10.0, 20.5)))
    suite = ET.fromstring(render_junit(report))
    assert suite.findall("testcase")[0].get("time") == "0.030"
    assert suite.get("time") == "0.030"


def test_interrupted_report_says_so_with_an_error() -> None:
    clock = FakeClock()
    timeline = Timeline(clock)
    report = Report(command="check", target="ws://127.0.0.1:1", interrupted=True)
    reach = record(Stage.REACH, "127.0.0.1:1", ms=(1.0,))
    clock.now += 0.002
    timeline.arrived(reach)
    report.results.append(reach)
    clock.now += 1.5  # the websocket stage was waiting when Ctrl-C came
    suite = ET.fromstring(render_junit(report, exit_code=130, timeline=timeline))
    assert (suite.get("tests"), suite.get("errors"), suite.get("failures")) == ("2", "1", "0")
    last = suite.findall("testcase")[-1]
    assert (last.get("classname"), last.get("name"), last.get("time")) == (
        "wsdiag.check",
        "interrupted",
        "1.500",
    )
    error = last.find("error")
    assert error is not None and error.get("type") == "interrupted"
    assert properties(suite.find("properties") or ET.Element("x"))["exit_code"] == "130"


# ---------------------------------------------------------------- through the CLI


@contextmanager
def listener() -> Iterator[socket.socket]:
    """A port that notices any connection: for 'nothing was checked or sent'."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        yield sock


def assert_untouched(sock: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        sock.accept()


def unwritable_paths(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "a-file").write_text("")
    (tmp_path / "a-dir").mkdir(exist_ok=True)
    return {
        "missing directory": str(tmp_path / "no" / "such" / "report.xml"),
        "parent is a file": str(tmp_path / "a-file" / "report.xml"),
        "a directory": str(tmp_path / "a-dir"),
        # read-only for root too (EINVAL/EACCES), unlike a chmod 444 file
        "existing, not writable": "/proc/version",
    }


@pytest.mark.parametrize(
    "case", ["missing directory", "parent is a file", "a directory", "existing, not writable"]
)
@pytest.mark.parametrize("command", ["check", "publish"])
def test_unwritable_junit_path_is_a_usage_error_before_anything_runs(
    tmp_path: Path, case: str, command: str
) -> None:
    junit = unwritable_paths(tmp_path)[case]
    with listener() as sock:
        target = f"ws://127.0.0.1:{sock.getsockname()[1]}"
        args = ["check", target] if command == "check" else ["publish", target, "c", "e", "{}"]
        outcome = run_wsdiag(
            *args,
            *("--app-id", "1", "--key", "k", "--secret", "s", "--junit", junit),
            home=tmp_path,
        )
        assert_untouched(sock)
    assert outcome.exit_code == 2, outcome.describe()
    assert outcome.stdout == ""
    assert "--junit" in outcome.stderr and junit in outcome.stderr, outcome.stderr
    assert outcome.elapsed < 10
    assert not (tmp_path / "no").exists()


def test_a_writable_path_is_left_as_it_was_by_the_check(tmp_path: Path) -> None:
    """The up-front check creates nothing and changes nothing when the run then stops."""
    kept = tmp_path / "kept.xml"
    kept.write_text("old report")
    new = tmp_path / "new.xml"
    for path in (kept, new):
        # --junit is checked first (it comes first), then --timeout 0 stops the run
        outcome = run_wsdiag("check", "mt1", "--junit", str(path), "--timeout", "0", home=tmp_path)
        assert outcome.exit_code == 2, outcome.describe()
    assert kept.read_text() == "old report"
    assert not new.exists()


def scripted_check(port: int, *extra: str) -> list[str]:
    return ["check", f"ws://127.0.0.1:{port}", "--key", "app-key", *extra]


@pytest.mark.parametrize("quiet", [False, True])
def test_junit_dash_is_all_stdout_carries(tmp_path: Path, quiet: bool) -> None:
    with scripted_server(Script(actions=[established()])) as server:
        outcome = run_wsdiag(
            *scripted_check(
                server.port,
                "--junit",
                "-",
                "--enabled-transports",
                "ws",
                *(["-q"] if quiet else []),
            ),
            home=tmp_path,
            env={"GITHUB_ACTIONS": "true"},  # annotations must not land in the XML either
        )
    assert outcome.exit_code == 0, outcome.describe()
    suite = ET.fromstring(outcome.stdout)  # the whole of stdout is one XML document
    assert suite.get("failures") == "0" and suite.get("tests") == "6"  # fallback: skipped
    assert outcome.stdout.startswith("<?xml") and outcome.stdout.endswith("</testsuite>\n")
    verdicts = [line for line in outcome.stderr.splitlines() if line.startswith("OK: ")]
    assert verdicts[0].startswith("OK: ws://127.0.0.1:"), outcome.stderr  # the report: stderr
    if not quiet:
        assert "websocket" in outcome.stderr and "ping" in outcome.stderr


def test_github_annotations_go_to_stderr_beside_junit_dash(tmp_path: Path) -> None:
    with listener() as sock:  # listening, never answering the upgrade: a failure
        port = sock.getsockname()[1]
        outcome = run_wsdiag(
            *scripted_check(port, "--junit", "-", "--timeout", "0.3"),
            home=tmp_path,
            env={"GITHUB_ACTIONS": "true"},
        )
    assert outcome.exit_code == 1, outcome.describe()
    assert ET.fromstring(outcome.stdout).get("failures") == "1"
    assert "::error title=" in outcome.stderr


def test_json_and_junit_dash_cannot_share_stdout(tmp_path: Path) -> None:
    with listener() as sock:
        outcome = run_wsdiag(
            *scripted_check(sock.getsockname()[1], "--junit", "-", "--json"), home=tmp_path
        )
        assert_untouched(sock)
    assert outcome.exit_code == 2, outcome.describe()
    assert outcome.stdout == ""
    assert "--junit -" in outcome.stderr


def junit_of(path: Path) -> tuple[ET.Element, dict[str, ET.Element]]:
    suite = ET.parse(path).getroot()
    return suite, {f"{c.get('classname')} {c.get('name')}": c for c in suite.findall("testcase")}


def test_times_are_real_elapsed_times(tmp_path: Path) -> None:
    """A ping that never comes back took its timeout; its phases hold only the pongs."""
    junit = tmp_path / "report.xml"
    script = Script(actions=[established()], answer_pings=False)
    with scripted_server(script) as server:
        outcome = run_wsdiag(
            *scripted_check(server.port, "--pings", "1", "--timeout", "1", "--junit", str(junit)),
            home=tmp_path,
        )
    assert outcome.exit_code == 1, outcome.describe()
    suite, found = junit_of(junit)
    ping = float(found[f"wsdiag.ping ws://127.0.0.1:{server.port}"].get("time", "0"))
    websocket = float(found[f"wsdiag.websocket ws://127.0.0.1:{server.port}"].get("time", "-1"))
    wall = float(suite.get("time", "0"))
    assert 1.0 <= ping < 1.5, ping
    assert 0 < websocket < 0.5, websocket
    assert ping + websocket <= wall < outcome.elapsed, (ping, wall, outcome.elapsed)


def test_interrupted_run_writes_what_ran(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    with scripted_server(Script(silent=True)) as server:
        process = start_wsdiag(
            *scripted_check(server.port, "--timeout", "30", "--junit", str(junit)), home=tmp_path
        )
        deadline = time.monotonic() + 20
        while not server.requests and time.monotonic() < deadline:  # the upgrade is waiting
            assert process.poll() is None, process.communicate()
            time.sleep(0.02)
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"no exit within 10 s of Ctrl-C: {process.communicate()}")
    assert process.returncode == 130, err
    suite, found = junit_of(junit)
    port = server.port
    assert list(found) == [
        "wsdiag.resolve 127.0.0.1",
        f"wsdiag.reach 127.0.0.1:{port}",
        f"wsdiag.tls ws://127.0.0.1:{port}",
        "wsdiag.check interrupted",
    ]
    assert suite.get("errors") == "1"
    assert float(found["wsdiag.check interrupted"].get("time", "0")) >= 0.2
    assert "Traceback" not in err


@pytest.mark.soketi
def test_names_are_the_same_when_dns_answers_another_address(
    soketi: Soketi, tmp_path: Path
) -> None:
    """Two runs, two addresses, two random channels and socket ids: the same testcases."""
    runs: list[tuple[ET.Element, dict[str, ET.Element]]] = []
    for address in ("127.0.0.1", "127.0.0.2"):
        junit = tmp_path / f"{address}.xml"
        with dns_server({"soketi.wsdiag.test": {"A": [(address, 60)]}}) as dns:
            outcome = run_wsdiag(
                "check",
                f"ws://soketi.wsdiag.test:{soketi.port}",
                *("--resolver", f"127.0.0.1:{dns.address[1]}"),
                *("--app-id", soketi.app_id, "--key", soketi.key, "--secret", soketi.secret),
                *("--junit", str(junit), "-q"),
                home=tmp_path,
            )
        assert outcome.exit_code == 0, outcome.describe()
        runs.append(junit_of(junit))
    (_, first), (_, second) = runs
    assert list(first) == list(second)
    assert f"wsdiag.reach soketi.wsdiag.test:{soketi.port} IPv4" in first
    seen = [properties(case) for _, found in runs for case in found.values()]
    channels = {p["channel"] for p in seen if "channel" in p}
    sockets = {p["socket_id"] for p in seen if "socket_id" in p}
    addresses = {p["address"] for p in seen if "address" in p}
    assert len(channels) == 2 and len(sockets) >= 2 and addresses == {"127.0.0.1", "127.0.0.2"}
    for name in first:
        assert not any(value in name for value in channels | sockets | addresses), name
