"""The README's fault table is the matrix the fault tests check, and every fault has a test."""

from __future__ import annotations

import re
from pathlib import Path

from tests.faults import test_pusher_faults
from tests.faults.matrix import FAULTS, README, readme_with_table

HERE = Path(__file__).parent


def test_readme_fault_table_is_current() -> None:
    readme = README.read_text()
    assert readme_with_table(readme) == readme, (
        "README's fault table is stale: run `python -m tests.faults.matrix`"
    )


def test_every_fault_has_a_test() -> None:
    sources = "".join(p.read_text() for p in HERE.glob("test_*_faults.py"))
    named = set(re.findall(r'"([a-z]+\.[a-z0-9_]+)"', sources))
    named |= {f"pusher.{code}" for code in test_pusher_faults.CODES}
    missing = [fault.id for fault in FAULTS if fault.id not in named]
    assert not missing, f"faults in the matrix without a test: {missing}"
