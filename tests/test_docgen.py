"""Generated man pages and completions: fresh, valid roff, covering every command and variable.

The lists a page is held against come from elsewhere than the generator: the
commands from the README's command table, the variables from the package's
own reads of the environment (found in its source), the config path from
``wsdiag.config``.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from wsdiag.config import default_path
from wsdiag.docgen import ENVIRONMENT, EXIT_STATUS, FILES, generated_files, roff_escape
from wsdiag.exit_codes import ExitCode
from wsdiag.proxy import _ENVIRONMENT as PROXY_VARIABLES
from wsdiag.settings import ALIASES, DRIVER_NAMES, SETTINGS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wsdiag"
README = (ROOT / "README.md").read_text(encoding="utf-8")
PAGES = sorted(p for p in generated_files() if p.startswith("man/"))

# Read by the libraries wsdiag uses rather than by its own code: rich (colour and
# width), click (completion, named by the generated scripts).
READ_BY_LIBRARIES = {"NO_COLOR", "FORCE_COLOR", "COLUMNS", "_WSDIAG_COMPLETE"}
# Reads whose variable name is not a literal at the call: they loop over these tables.
TABLE_READS = {
    "proxy.py": set(PROXY_VARIABLES) | {"no_proxy", "NO_PROXY"},
    "settings.py": {env_name for _, _, env_name, _ in SETTINGS}
    | {name for names in ALIASES.values() for name in names}
    | set(DRIVER_NAMES),
    "bundle.py": set(PROXY_VARIABLES) | {"no_proxy", "NO_PROXY"},
    # exporter modules' env:NAME references: the variable the user's own module names
    "modules.py": set(),
}


def test_committed_copies_are_fresh() -> None:
    stale = [
        relative
        for relative, content in generated_files().items()
        if not (ROOT / relative).exists()
        or (ROOT / relative).read_text(encoding="utf-8") != content
    ]
    assert not stale, f"regenerate with `python -m wsdiag.docgen`: stale {stale}"


def readme_commands() -> list[str]:
    """The command names of the README's "## Commands" table (`wsdiag NAME …`)."""
    section = README.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `wsdiag ([a-z][a-z-]*)", section, flags=re.MULTILINE)


def test_every_documented_command_has_a_page_and_no_page_is_left_over() -> None:
    commands = readme_commands()
    assert len(commands) >= 10, commands  # the table was found
    expected = {"man/wsdiag.1"} | {f"man/wsdiag-{name}.1" for name in commands}
    assert set(PAGES) == expected
    committed = {f"man/{p.name}" for p in (ROOT / "man").glob("*.1")}
    assert committed == expected, "a page without a command (or the reverse) in man/"
    main_page = generated_files()["man/wsdiag.1"]
    listed = re.findall(r"^\.TP\n\.B (\S+)$", section_of(main_page, "COMMANDS"), re.MULTILINE)
    assert sorted(listed) == sorted(commands)


@pytest.mark.parametrize("page", PAGES)
def test_page_names_itself(page: str) -> None:
    name = Path(page).stem  # wsdiag-check
    first = generated_files()[page].splitlines()[0]
    assert first.startswith(f".TH {name.upper()} 1 ")
    assert f"{roff_escape(name)} \\- " in generated_files()[page]


def section_of(page: str, title: str) -> str:
    return page.split(f"\n.SH {title}\n", 1)[1].split("\n.SH ", 1)[0]


def variables_read() -> dict[str, set[str]]:
    """Source file → the environment variables it reads, from its syntax tree:
    ``env.get("NAME")``, ``environ["NAME"]``, ``os.getenv("NAME")``, ``envvar="NAME"``.
    A read whose name is computed must come from a table this test knows (TABLE_READS)."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "envvar":
                names.add(ast.literal_eval(node.value))
            argument: ast.expr | None = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                receiver = ast.unparse(node.func.value).lower()
                reads = node.func.attr == "getenv" or (
                    node.func.attr == "get" and "env" in receiver.rsplit(".", 1)[-1]
                )
                argument = node.args[0] if reads and node.args else None
            elif isinstance(node, ast.Subscript) and "environ" in ast.unparse(node.value):
                argument = node.slice
            if argument is None:
                continue
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                names.add(argument.value)
            else:
                assert path.name in TABLE_READS, (
                    f"{path.relative_to(ROOT)}: reads the variable {ast.unparse(argument)}; "
                    "add its table to TABLE_READS in this test"
                )
                names |= TABLE_READS[path.name]
        if names:
            found[str(path.relative_to(ROOT))] = names
    return found


def documented() -> set[str]:
    return {name for key in ENVIRONMENT for name in key.split(", ")}


def test_the_scan_finds_the_reads_it_should() -> None:
    """The scanner itself: it sees each kind of read (else the next test proves nothing)."""
    reads = variables_read()
    assert {"WSDIAG_PROFILE", "WSDIAG_CONFIG"} <= reads["wsdiag/cli/options.py"]  # envvar=
    assert {"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"} <= reads["wsdiag/trust.py"]
    assert {"XDG_CONFIG_HOME", "HOME"} <= reads["wsdiag/config.py"]
    assert "GITHUB_ACTIONS" in reads["wsdiag/cli/options.py"]
    assert {"https_proxy", "NO_PROXY", "no_proxy"} <= reads["wsdiag/proxy.py"]


def test_every_variable_read_is_documented() -> None:
    missing = {
        f"{name} (read in {source})"
        for source, names in variables_read().items()
        for name in names
        if name not in documented()
    }
    missing |= READ_BY_LIBRARIES - documented()
    assert not missing, f"add to ENVIRONMENT in wsdiag/docgen.py: {sorted(missing)}"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_lists_the_environment_and_files(page: str) -> None:
    content = generated_files()[page]
    environment = section_of(content, "ENVIRONMENT")
    for name in documented():
        assert roff_escape(name) in environment, name
    files = section_of(content, "FILES")
    config = str(default_path({"HOME": "/HOME"})).replace("/HOME", "~", 1)
    assert f".I {roff_escape(config)}" in files
    for word in ("XDG_CONFIG_HOME", "WSDIAG_CONFIG", "\\-\\-config", "\\-\\-env\\-file"):
        assert word in files, word
    assert FILES


def test_every_exit_code_is_documented() -> None:
    assert set(EXIT_STATUS) == set(ExitCode)
    status = section_of(generated_files()["man/wsdiag.1"], "EXIT STATUS")
    for code in ExitCode:
        assert f".B {int(code)}\n" in status


def groff(page: str, device: str | None, *, render: bool, tmp_path: Path) -> str:
    path = tmp_path / "page.1"
    path.write_text(generated_files()[page], encoding="utf-8")
    args = ["groff", "-man", "-ww"] + ([f"-T{device}"] if device else [])
    proc = subprocess.run(
        [*args, *([] if render else ["-z"]), str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("device", [None, "ascii", "latin1", "utf8"])
def test_pages_render_without_warnings(page: str, device: str | None, tmp_path: Path) -> None:
    """`groff -man -ww -z` as the issue asks, and a real rendering too: some glyphs warn
    only when a device lays them out (man uses -Tascii or -Tlatin1 outside UTF-8)."""
    assert groff(page, device, render=False, tmp_path=tmp_path) == ""
    assert groff(page, device, render=True, tmp_path=tmp_path) == ""
    for section in (
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "SEE ALSO",
    ):
        assert f".SH {section}" in generated_files()[page]


@pytest.mark.parametrize(
    ("text", "roff"),
    [
        ("mt1, eu, ap2…", "mt1, eu, ap2..."),
        ("a — b – c → d ≥ e", "a \\(em b \\(en c \\(-> d \\(>= e"),
        ("São Paulo", "Sao Paulo"),
        (".env starts a line", "\\&.env starts a line"),
    ],
)
def test_non_ascii_becomes_what_every_device_has(text: str, roff: str) -> None:
    assert roff_escape(text) == roff
    assert roff_escape(text).isascii()


def test_pages_have_no_machine_specific_defaults() -> None:
    for relative, content in generated_files().items():
        assert "/root" not in content and "/home/" not in content and "/work/" not in content, (
            relative
        )
