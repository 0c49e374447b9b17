"""Generated man pages and completions: fresh, valid roff, and covering every command."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from wsdiag.cli import cli
from wsdiag.docgen import generated_files

ROOT = Path(__file__).resolve().parent.parent


def test_committed_copies_are_fresh() -> None:
    stale = [
        relative
        for relative, content in generated_files().items()
        if not (ROOT / relative).exists()
        or (ROOT / relative).read_text(encoding="utf-8") != content
    ]
    assert not stale, f"regenerate with `python -m wsdiag.docgen`: stale {stale}"


def test_every_command_has_a_page() -> None:
    files = generated_files()
    for name in cli.commands:
        assert f"man/wsdiag-{name}.1" in files


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
@pytest.mark.parametrize("page", sorted(p for p in generated_files() if p.startswith("man/")))
def test_pages_render_without_warnings(page: str, tmp_path: Path) -> None:
    path = tmp_path / "page.1"
    path.write_text(generated_files()[page], encoding="utf-8")
    proc = subprocess.run(
        ["groff", "-ww", "-man", "-Tutf8", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert proc.returncode == 0
    assert proc.stderr == "", proc.stderr
    for section in (
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "SEE ALSO",
    ):
        assert f".SH {section}" in generated_files()[page]


def test_pages_have_no_machine_specific_defaults() -> None:
    for relative, content in generated_files().items():
        assert "/root" not in content and "/home/" not in content and "/work/" not in content, (
            relative
        )
