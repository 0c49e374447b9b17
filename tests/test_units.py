"""How numbers are written in every output (issue 14)."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsdiag.units import exceeds, json_numbers, ms_over, ms_text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0.0"), (0.04, "0.0"), (-0.04, "0.0"), (-0.0, "0.0"), (0.25, "0.2"), (23.45, "23.4"),
     (5000.0, "5000.0"), (-12.5, "-12.5")],
)  # fmt: skip
def test_ms_text(value: float, text: str) -> None:
    assert ms_text(value) == text


@given(st.floats(min_value=0, max_value=1e6), st.floats(min_value=0, max_value=1e6))
def test_ms_over_always_reads_as_over(value: float, limit: float) -> None:
    if exceeds(value, limit):
        assert float(ms_over(value, limit)) > limit


def test_json_numbers() -> None:
    document = {
        "a": 1.23456,
        "b": [-0.0001, -0.0, 2],
        "c": {"d": 0.1 + 0.2, "e": True, "f": None, "g": "1.23456"},
        "h": (math.nan, math.inf),
    }
    cleaned = json_numbers(document)
    assert cleaned == {
        "a": 1.235,
        "b": [0.0, 0.0, 2],
        "c": {"d": 0.3, "e": True, "f": None, "g": "1.23456"},
        "h": [None, None],
    }
    text = json.dumps(cleaned)
    assert "-0" not in text and "0.30000000000000004" not in text
    assert cleaned["c"]["e"] is True  # a bool is not a number here


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9))
def test_json_numbers_keep_three_decimals_and_no_sign_on_zero(value: float) -> None:
    rounded = json_numbers(value)
    text = json.dumps(rounded)
    assert not text.startswith("-0") or (text.startswith("-0.") and rounded != 0)
    assert len(text.partition(".")[2].partition("e")[0]) <= 3
