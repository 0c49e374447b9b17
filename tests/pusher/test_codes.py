"""Close codes where Pusher's clusters and self-hosted servers differ (issue 9, defect 12)."""

from __future__ import annotations

import pytest

from wsdiag.pusher.codes import explain_code, known_codes


def test_4001_on_a_self_hosted_server_is_its_app_config() -> None:
    info = explain_code(4001, self_hosted=True)
    assert "cluster" not in (info.meaning + info.fix).lower()
    for setting in ("SOKETI_DEFAULT_APP_KEY", "REVERB_APP_KEY", "PUSHER_APP_KEY", "app *id*"):
        assert setting in info.fix


def test_4001_on_pusher_is_key_and_cluster() -> None:
    info = explain_code(4001, self_hosted=False)
    assert "PUSHER_APP_CLUSTER" in info.fix and "app *id*" in info.fix
    assert "SOKETI" not in info.fix and "REVERB" not in info.fix


def test_4001_where_unknown_covers_both() -> None:
    """`wsdiag explain 4001` knows no target: both readings, with each server's words."""
    info = explain_code(4001)
    assert "PUSHER_APP_CLUSTER" in info.fix and "SOKETI_DEFAULT_APP_KEY" in info.fix
    assert "Did you forget to specify the cluster?" in info.meaning
    assert "does not exist." in info.meaning


@pytest.mark.parametrize("code", known_codes())
@pytest.mark.parametrize("self_hosted", [None, True, False])
def test_only_the_text_depends_on_where(code: int, self_hosted: bool | None) -> None:
    """Title, reconnect rule and kind are the protocol's: the same on every server."""
    plain, here = explain_code(code), explain_code(code, self_hosted=self_hosted)
    assert (here.code, here.title, here.reconnect, here.kind) == (
        plain.code,
        plain.title,
        plain.reconnect,
        plain.kind,
    )
    assert here.meaning and here.fix


@pytest.mark.parametrize(
    ("message", "cause"),
    [
        ("App key x does not exist.", 'the server said "App key x does not exist.": '),
        ("  two\n lines ", 'the server said "two lines": '),
        ("", ""),
    ],
)
def test_cause_quotes_the_server(message: str, cause: str) -> None:
    info = explain_code(4001, self_hosted=True)
    assert info.cause(message) == cause + info.meaning
