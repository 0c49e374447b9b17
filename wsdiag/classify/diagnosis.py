"""The record every classifier returns."""

from __future__ import annotations

from wsdiag.models import ErrorKind
from wsdiag.records import record


@record
class Diagnosis:
    """A named failure: a short summary for the row, and the cause and fix for the reader."""

    kind: ErrorKind
    summary: str
    cause: str
    fix: str
