"""Fixtures shared by the whole suite: the real servers live in tests/servers/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.soketi import Soketi, start_soketi


@pytest.fixture(scope="session")
def soketi() -> Iterator[Soketi]:
    """One soketi for the session (app 12345, key wsdiag-test-key)."""
    with start_soketi() as server:
        yield server
