"""Exporter modules: the [modules.NAME] tables, their checks, and credential references."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsdiag.exporter.modules import DEFAULT, Module, ModuleError, load_modules
from wsdiag.models import Stage


def load(tmp_path: Path, text: str) -> dict[str, Module]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_modules(path)


def test_a_module_with_every_setting(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("")
    modules = load(
        tmp_path,
        f"""
[profiles.staging]
target = "eu"

[modules.e2e]
target = "mt1"
key = "k"
app_id = "env:APP_ID"
secret = "file:/run/secret"
timeout = 2.5
pings = 0
events = 7
ca_bundle = "{tmp_path / "ca.pem"}"
enabled_transports = ["ws", "wss"]
stages = ["resolve", "reach", "websocket"]
""",
    )
    assert set(modules) == {DEFAULT, "e2e"}  # profiles are not modules
    e2e = modules["e2e"]
    assert (e2e.target, e2e.timeout, e2e.pings, e2e.events) == ("mt1", 2.5, 0, 7)
    assert e2e.enabled_transports == ("ws", "wss")
    assert e2e.stages == (Stage.RESOLVE, Stage.REACH, Stage.WEBSOCKET)
    assert modules[DEFAULT] == Module()  # connectivity, every stage


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('colour = "red"', "unknown setting 'colour'"),
        ("pings = true", "pings has the wrong type"),
        ('timeout = "5"', "timeout has the wrong type"),
        ('secret = "s3cr3t-value"', "secret must be a reference"),
        ("timeout = 0", "timeout must be in (0, 120]"),
        ("events = 0", "events 1-100"),
        ('enabled_transports = ["websocket"]', "enabled_transports: ['websocket']"),
        ('stages = ["dns"]', "stages: ['dns']"),
        ('ca_bundle = "/nonexistent/ca.pem"', "ca_bundle /nonexistent/ca.pem does not exist"),
    ],
)
def test_a_bad_module_is_named(tmp_path: Path, table: str, words: str) -> None:
    with pytest.raises(ModuleError) as raised:
        load(tmp_path, f"[modules.bad]\n{table}\n")
    assert words in str(raised.value) and "module bad" in str(raised.value)
    assert "s3cr3t-value" not in str(raised.value)


def test_a_file_that_is_no_toml(tmp_path: Path) -> None:
    with pytest.raises(ModuleError, match="not valid TOML"):
        load(tmp_path, "[modules.x\n")
    with pytest.raises(ModuleError, match="cannot read"):
        load_modules(tmp_path / "missing.toml")


def test_references_are_read_when_asked(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    module = Module(name="m", key="literal", app_id="env:APP", secret=f"file:{secret}")
    assert module.credential("key", {}) == "literal"
    assert module.credential("app_id", {"APP": " 42 "}) == "42"
    assert module.credential("secret", {}) == "from-a-file"
    with pytest.raises(ModuleError, match=r"app_id: \$APP is not set"):
        module.credential("app_id", {})
    secret.unlink()
    with pytest.raises(ModuleError, match="cannot read"):
        module.credential("secret", {})
