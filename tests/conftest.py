"""Fixtures shared by the whole suite: the real servers live in tests/servers/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from unittest import mock

import pytest

from tests.servers.soketi import Soketi, start_soketi

PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True, scope="session")
def hermetic_proxy_settings() -> Iterator[None]:
    """Tests pick their proxy themselves: a developer's HTTPS_PROXY must not steer them."""
    with mock.patch.dict(os.environ):
        for name in [k for k in os.environ if k.lower() in PROXY_VARIABLES]:
            del os.environ[name]
        yield


@pytest.fixture(autouse=True, scope="session")
def hermetic_trust_settings() -> Iterator[None]:
    """Tests pick the CAs they trust: a machine's SSL_CERT_FILE must not steer them (issue 9)."""
    with mock.patch.dict(os.environ):
        for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"):
            os.environ.pop(name, None)
        yield


@pytest.fixture(scope="session")
def soketi() -> Iterator[Soketi]:
    """One soketi for the session (app 12345, key wsdiag-test-key)."""
    with start_soketi() as server:
        yield server
