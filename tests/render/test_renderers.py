"""Every renderer from the same report: console (fixed width), JSON (against the schema), JUnit."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from importlib import resources

import jsonschema
from rich.console import Console

from wsdiag.models import ErrorKind, Latency, Phase, Report, Stage, StageResult, Status
from wsdiag.render.console import ConsoleRenderer
from wsdiag.render.json import report_to_dict
from wsdiag.render.junit import render_junit
from wsdiag.render.verdict import verdict


def sample_report() -> Report:
    report = Report(command="check", target="mt1", notes=["a note"])
    report.results += [
        StageResult(
            Stage.RESOLVE,
            "ws-mt1.pusher.com",
            Status.OK,
            "2 IPv4",
            phases=(Phase("a", 12.5),),
            started_ms=0.0,
            details={"addresses": [{"address": "192.0.2.1", "family": "ipv4", "ttl": 60}]},
        ),
        StageResult(
            Stage.REACH,
            "ws-mt1.pusher.com 192.0.2.1:443",
            Status.FAIL,
            "filtered",
            kind=ErrorKind.TCP_FILTERED,
            cause="nothing answered on 443",
            fix="allow outbound TCP 443",
            phases=(Phase("connect", 5000.0),),
            started_ms=13.0,
        ),
        StageResult(
            Stage.REACH,
            "ws-mt1.pusher.com 192.0.2.1:80",
            Status.OK,
            "open",
            phases=(Phase("connect", 20.0),),
            started_ms=13.0,
        ),
        StageResult(Stage.TLS, "ws-mt1.pusher.com:443", Status.SKIPPED, "skipped: not reachable"),
    ]
    return report


def render_console(
    report: Report, *, detailed: bool = False, width: int = 160, err: io.StringIO | None = None
) -> str:
    out = io.StringIO()
    renderer = ConsoleRenderer(
        Console(file=out, width=width, color_system=None),
        err_console=Console(file=err or io.StringIO(), width=width, color_system=None),
        detailed=detailed,
    )
    renderer.start(report)
    renderer.finish(report, 1)
    return out.getvalue()


def test_console_shows_rows_first_failure_and_verdict() -> None:
    err = io.StringIO()
    text = render_console(sample_report(), err=err)
    lines = text.splitlines()
    assert lines[0].startswith("wsdiag check mt1")
    assert err.getvalue() == "note: a note\n"
    assert any("reach" in line and "192.0.2.1:443" in line and "FAIL" in line for line in lines)
    assert any("tls" in line and "skip" in line for line in lines)
    assert "First failure: reach ws-mt1.pusher.com 192.0.2.1:443 [tcp_filtered]" in text
    assert "cause: nothing answered on 443" in text
    assert "fix:   allow outbound TCP 443" in text
    assert lines[-1] == "FAIL: mt1: reach ws-mt1.pusher.com 192.0.2.1:443: filtered [tcp_filtered]"


def test_console_waterfall_scales_to_the_longest_row() -> None:
    text = render_console(sample_report())
    filtered_row = next(line for line in text.splitlines() if "192.0.2.1:443" in line)
    open_row = next(line for line in text.splitlines() if "192.0.2.1:80 " in line)
    assert filtered_row.count("█") > open_row.count("█") >= 1  # 20 ms still shows
    assert filtered_row.count("█") >= 20


def test_console_drops_the_waterfall_when_narrow() -> None:
    text = render_console(sample_report(), width=80)
    assert "█" not in text
    assert "waterfall" not in text
    assert "192.0.2.1:443" in text


def test_console_details_when_detailed() -> None:
    text = render_console(sample_report(), detailed=True)
    assert "address=192.0.2.1, family=ipv4, ttl=60" in text
    assert "phases: connect 5000.0 ms" in text


def test_json_matches_schema() -> None:
    schema = json.loads(resources.files("wsdiag").joinpath("schema/report-v2.json").read_text())
    document = report_to_dict(sample_report(), 1)
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["first_failure"] == 1
    assert document["results"][1]["kind"] == "tcp_filtered"
    assert document["results"][1]["elapsed_ms"] == 5000.0
    assert document["status"] == "fail"


def test_schema_kind_vocabulary_matches_error_kinds() -> None:
    schema = json.loads(resources.files("wsdiag").joinpath("schema/report-v2.json").read_text())
    kinds = schema["$defs"]["result"]["properties"]["kind"]["enum"]
    assert sorted(k for k in kinds if k) == sorted(k.value for k in ErrorKind)


def test_junit_parses_back() -> None:
    root = ET.fromstring(render_junit(sample_report()))
    assert root.tag == "testsuite"
    assert root.get("tests") == "4"
    assert root.get("failures") == "1"
    assert root.get("skipped") == "1"
    cases = root.findall("testcase")
    assert [c.get("classname") for c in cases] == [
        "wsdiag.resolve",
        "wsdiag.reach",
        "wsdiag.reach",
        "wsdiag.tls",
    ]
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("type") == "tcp_filtered"
    assert "allow outbound TCP 443" in (failure.text or "")
    assert cases[3].find("skipped") is not None
    assert cases[1].get("time") == "5.000"


def test_verdicts() -> None:
    ok = Report(command="check", target="mt1")
    ok.results.append(
        StageResult(
            Stage.PING,
            "wss://x",
            Status.OK,
            "5 pongs",
            details={"median": 23.4},
            outcome=Latency((23.4,), 23.4, 23.4),
        )
    )
    assert verdict(ok) == "OK: mt1: Pusher connection works (ping median 23.4 ms)"
    warn = Report(command="check", target="mt1")
    warn.results.append(
        StageResult(Stage.RESOLVE, "h", Status.WARN, "private", kind=ErrorKind.DNS_PRIVATE_ANSWER)
    )
    assert verdict(warn) == "WARN: mt1: resolves; h: private [dns_private_answer]"
    interrupted = sample_report()
    interrupted.interrupted = True
    assert verdict(interrupted).startswith("INTERRUPTED: mt1: stopped by Ctrl-C after 4 result(s)")


def test_schema_stage_vocabulary_matches_stages() -> None:
    schema = json.loads(resources.files("wsdiag").joinpath("schema/report-v2.json").read_text())
    assert schema["$defs"]["result"]["properties"]["stage"]["enum"] == [s.value for s in Stage]


def test_an_interrupted_verdict_is_red_whatever_ran() -> None:
    report = Report(command="check", target="mt1", interrupted=True)
    report.results.append(StageResult(Stage.RESOLVE, "ws-mt1.pusher.com", Status.OK, "2 IPv4"))
    out = io.StringIO()
    console = Console(file=out, width=80, color_system="standard", force_terminal=False)
    renderer = ConsoleRenderer(console, err_console=Console(file=io.StringIO()))
    renderer.start(report)
    renderer.finish(report, 130)
    verdict_line = out.getvalue().splitlines()[-1]
    assert "INTERRUPTED: mt1" in verdict_line
    assert "\x1b[1;31m" in verdict_line  # bold red, not the green of its ok results
