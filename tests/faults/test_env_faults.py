"""Settings faults through `wsdiag env-lint`: real .env files, the scheme checked against soketi."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_env_lint import env_lint, kinds
from tests.faults.matrix import BY_ID
from tests.servers.soketi import Soketi

pytestmark = pytest.mark.soketi


def test_keys_that_differ_and_https_to_a_plain_port(soketi: Soketi, tmp_path: Path) -> None:
    outcome, document = env_lint(
        tmp_path,
        "PUSHER_APP_KEY=one\nVITE_PUSHER_APP_KEY=two\n"
        f"PUSHER_HOST=127.0.0.1\nPUSHER_PORT={soketi.port}\nPUSHER_SCHEME=https\n",
    )
    found = kinds(document)
    for fault in (BY_ID["env.key_mismatch"], BY_ID["env.https_to_plain_port"]):
        assert outcome.exit_code == fault.exit_code
        assert found[str(fault.kind)] == fault.status
