"""JSON numbers, the interrupted status, and notes on stderr in every format (issue 14)."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from importlib import resources

import jsonschema

from tests.render.samples import api_wrong_secret, cluster_wrong_key, self_hosted_ok
from wsdiag.render import JsonRenderer, QuietRenderer
from wsdiag.render.json import render_json, report_to_dict

SCHEMA = json.loads(resources.files("wsdiag").joinpath("schema/report-v2.json").read_text())


def test_json_floats_have_three_decimals_and_no_minus_zero() -> None:
    report = api_wrong_secret()
    text = render_json(report, 1)
    document = json.loads(text)
    result = document["results"][0]
    assert [p["ms"] for p in result["phases"]] == [0.912, 0.1, 1.2, 0.0]
    assert result["elapsed_ms"] == 2.212
    assert "-0" not in text
    jsonschema.Draft202012Validator(SCHEMA).validate(document)


def test_json_rounds_the_details_too() -> None:
    report = self_hosted_ok()
    report.results[0] = replace(report.results[0], details={"median": 0.1 + 0.2, "skew": -0.0001})
    details = report_to_dict(report, 0)["results"][0]["details"]
    assert details == {"median": 0.3, "skew": 0.0}


def test_an_interrupted_run_is_interrupted_not_skipped_or_failed() -> None:
    for report in (self_hosted_ok(), cluster_wrong_key()):
        report.interrupted = True
        report.results[3:] = []  # Ctrl-C during the fourth stage
        document = report_to_dict(report, 130)
        assert document["status"] == "interrupted"
        assert document["interrupted"] is True
        jsonschema.Draft202012Validator(SCHEMA).validate(document)


def test_nothing_run_before_ctrl_c_is_interrupted_too() -> None:
    report = self_hosted_ok()
    report.results.clear()
    report.interrupted = True
    assert report_to_dict(report, 130)["status"] == "interrupted"
    report.interrupted = False
    assert report_to_dict(report, 0)["status"] == "skipped"


def test_quiet_keeps_the_notes_on_stderr() -> None:
    """-q: the verdict alone on stdout, and what changes its meaning still said (stderr)."""
    report = cluster_wrong_key()
    out, err = io.StringIO(), io.StringIO()
    renderer = QuietRenderer(out=out, err=err)
    renderer.start(report)
    report.notes.append("through the HTTP proxy proxy:3128 (from HTTPS_PROXY)")
    renderer.finish(report, 1)
    assert out.getvalue().startswith("FAIL: mt1: websocket") and out.getvalue().count("\n") == 1
    assert err.getvalue() == (
        "note: the key '12345' is all digits: that looks like the app *id*, not the key\n"
        "note: through the HTTP proxy proxy:3128 (from HTTPS_PROXY)\n"
    )


def test_json_says_the_notes_on_stderr_and_in_the_document() -> None:
    report = cluster_wrong_key()
    out, err = io.StringIO(), io.StringIO()
    renderer = JsonRenderer(out=out, err=err)
    renderer.start(report)
    renderer.finish(report, 1)
    assert json.loads(out.getvalue())["notes"] == report.notes
    assert err.getvalue() == f"note: {report.notes[0]}\n"
