"""The console report laid out for its width (issue 14): golden renders and layout rules.

Golden files hold the exact output at 50, 80 and 160 columns (rich's Console at
a fixed width, no colour), stderr first: a layout change is a visible diff. To
accept an intended change: ``WSDIAG_UPDATE_GOLDEN=1 pytest tests/render`` and
read the diff before committing it.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from rich.console import Console

from tests.render.samples import SAMPLES, STRING_TO_SIGN
from wsdiag.models import Report
from wsdiag.render.console import STACK_BELOW, ConsoleRenderer

GOLDEN = Path(__file__).parent / "golden"
WIDTHS = (50, 80, 160)


def render(report: Report, width: int, *, detailed: bool = False) -> tuple[str, str]:
    """(stdout, stderr) of the console renderer at ``width`` columns, no colour, no terminal."""
    out, err = io.StringIO(), io.StringIO()
    renderer = ConsoleRenderer(
        Console(file=out, width=width, color_system=None),
        err_console=Console(file=err, width=width, color_system=None),
        detailed=detailed,
    )
    renderer.start(report)
    renderer.finish(report, 1)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_golden(name: str, width: int) -> None:
    make, detailed = SAMPLES[name]
    out, err = render(make(), width, detailed=detailed)
    text = f"--- stderr\n{err}--- stdout\n{out}"
    path = GOLDEN / f"{name}-{width}.txt"
    if os.environ.get("WSDIAG_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
        pytest.skip(f"wrote {path.name}")
    assert text == path.read_text(encoding="utf-8")


LAYOUT_WIDTHS = (40, 50, 60, 69, 70, 72, 80, 100, 110, 120, 139, 140, 160, 200)
CASES = [(name, width) for name in sorted(SAMPLES) for width in LAYOUT_WIDTHS]


def rendered(name: str, width: int) -> tuple[Report, str, str]:
    make, detailed = SAMPLES[name]
    report = make()
    out, err = render(report, width, detailed=detailed)
    return report, out, err


def texts_of(report: Report, *, detailed: bool) -> list[str]:
    """Every piece of prose the report renders: subjects, summaries, causes, fixes, notes."""
    texts = list(report.notes)
    for result in report.results:
        texts += [result.subject, result.summary]
    explained = report.first_failure or report.first_warning
    for result in report.results if detailed else [explained] if explained else []:
        texts += [result.cause or "", result.fix or ""]
    return texts


@pytest.mark.parametrize(("name", "width"), CASES)
def test_no_line_ends_in_a_space(name: str, width: int) -> None:
    _, out, err = rendered(name, width)
    for line in (out + err).splitlines():
        assert line == line.rstrip(), repr(line)


@pytest.mark.parametrize(("name", "width"), CASES)
def test_no_token_is_split(name: str, width: int) -> None:
    """Lines break at spaces only: every word of the report is a word of the output."""
    report, out, err = rendered(name, width)
    output_tokens = set((out + err).split())
    for text in texts_of(report, detailed=SAMPLES[name][1]):
        for token in text.split():
            assert token in output_tokens, f"{token!r} was split at {width} columns"


@pytest.mark.parametrize(("name", "width"), CASES)
def test_only_a_single_token_runs_past_the_width(name: str, width: int) -> None:
    """A line is as wide as the console, unless it is one value too long to break."""
    _, out, err = rendered(name, width)
    for line in (out + err).splitlines():
        if len(line) > width:
            assert len(line.split()) == 1, f"{line!r} is over {width} columns"


@pytest.mark.parametrize(("name", "width"), CASES)
def test_stacked_below_70_columns(name: str, width: int) -> None:
    _, out, _ = rendered(name, width)
    header = re.compile(r"^stage +subject +ms +(waterfall +)?result$", re.MULTILINE)
    # A table only where every column keeps its words whole and the result is not
    # squeezed: the random channel name needs 80 columns, a whole IPv6 address 110.
    table_from = {"cluster-wrong-key": 110, "self-hosted-ok": 80}.get(name, STACK_BELOW)
    assert bool(header.search(out)) is (width >= table_from), out


@pytest.mark.parametrize("width", LAYOUT_WIDTHS)
def test_string_to_sign_has_a_line_of_its_own(width: int) -> None:
    _, out, _ = rendered("api-wrong-secret", width)
    lines = [line.strip() for line in out.splitlines()]
    assert STRING_TO_SIGN.replace("\n", "\\n") in lines
    assert "http://127.0.0.1:6001/apps/12345/channels" in lines


@pytest.mark.parametrize("width", LAYOUT_WIDTHS)
def test_no_python_reprs(width: int) -> None:
    _, out, _ = rendered("channel-info", width)
    for repr_only in ("True", "False", "None", "{'", "'}", "[]"):
        assert repr_only not in out
    assert "occupied: true" in out
    assert "ok: true" in out
    assert "channels: none" in out
    if width >= 50:
        assert '  - id=1, info={"name": "Ada"}, online=false\n' in out


def test_no_minus_zero() -> None:
    _, out, _ = rendered("api-wrong-secret", 160)
    assert "response 0.0 ms" in out
    _, out, _ = rendered("channel-info", 160)
    assert "jitter: 0.0" in out
    assert "-0" not in out


@pytest.mark.parametrize("width", WIDTHS)
def test_continuation_lines_hang_under_their_label(width: int) -> None:
    _, out, _ = rendered("cluster-wrong-key", width)
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  cause: "))
    end = next(i for i, line in enumerate(lines) if line.startswith("  fix:   "))
    assert end > start + (1 if width < 160 else 0)
    for line in lines[start + 1 : end]:
        assert line.startswith(" " * len("  cause: ")) and line[len("  cause: ")] != " ", line


def test_ms_have_one_decimal_everywhere() -> None:
    out, _ = render(SAMPLES["self-hosted-ok"][0](), 160)
    assert re.search(r"^reach +127\.0\.0\.1:6001 +ok +0\.2 ", out, re.MULTILINE), out
    assert "(ping median 0.1 ms)" in out


def test_notes_go_to_stderr_only() -> None:
    out, err = render(SAMPLES["cluster-wrong-key"][0](), 80)
    assert "note:" not in out
    assert err == (
        "note: the key '12345' is all digits: that looks like the app *id*, not the key\n"
    )
