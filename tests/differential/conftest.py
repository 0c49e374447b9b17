"""Prints the agree/disagree table of the differential test after the run."""

from __future__ import annotations

import pytest

from tests.differential.bed import ROWS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not ROWS:
        return
    terminalreporter.section("pusher-js vs wsdiag check")
    width = max(len(row.condition) for row in ROWS)
    for row in ROWS:
        verdict = "agree" if row.agree else "DISAGREE"
        terminalreporter.write_line(
            f"{row.condition:<{width}}  {verdict:<8}  pusher-js {row.pusher_js:<13}  "
            f"wsdiag exit {row.exit_code}  {row.headline}"
        )
