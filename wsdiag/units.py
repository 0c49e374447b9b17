"""How numbers are written, the same in every output (issue 14).

Milliseconds are measured to 3 decimals (``Stopwatch``), so JSON keeps 3 and
the console shows one; a comparison against a limit is made at the precision
that is shown, so a report never says "1 ms is over 0.5". Seconds from a
``Date`` header have its 1 s resolution. No output ever says ``-0``.
"""

from __future__ import annotations

import math
from typing import Any

MS_DECIMALS = 3  # JSON: what the monotonic clock measures (a microsecond)


def ms_text(value: float, decimals: int = 1) -> str:
    """A millisecond value as the console shows it: ``0.4``, ``23.4``, ``5000.0``."""
    return _unsigned_zero(f"{value:.{decimals}f}")


def ms_over(value: float, limit: float) -> str:
    """``value`` with the fewest decimals (1 to 3) that show it is over ``limit``.

    ``p95 0.52`` against ``--max-latency-ms 0.5`` reads ``0.52``, not ``0.5``.
    """
    for decimals in range(1, MS_DECIMALS + 1):
        shown = ms_text(value, decimals)
        if float(shown) > limit:
            return shown
    return ms_text(value, MS_DECIMALS)


def exceeds(value: float, limit: float) -> bool:
    """``value > limit`` at the precision every output keeps (3 decimals of a ms)."""
    return round(value, MS_DECIMALS) > limit


def json_numbers(value: Any) -> Any:
    """``value`` with every float rounded to 3 decimals, ``-0.0`` made ``0.0``, NaN ``None``."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None  # JSON has no NaN or Infinity
        rounded = round(value, MS_DECIMALS)
        return 0.0 if rounded == 0 else rounded
    if isinstance(value, dict):
        return {key: json_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_numbers(item) for item in value]
    return value


def _unsigned_zero(text: str) -> str:
    """``-0.0`` → ``0.0``: a value that rounds to zero has no sign."""
    if text.startswith("-") and not text.strip("-0."):
        return text[1:]
    return text
