"""The README's fault table is the matrix the fault tests check, and every fault has a test.

"Has a test" means a test function that holds a run against that fault's
expectation: it passes the fault's id to ``expect()`` or looks it up in
``BY_ID``, as a literal or through its own parameters. An id that only appears
somewhere in a test file (a comment, a string) does not count.
"""

from __future__ import annotations

import ast
import importlib
import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.faults.matrix import BY_ID, FAULTS, README, readme_with_table

HERE = Path(__file__).parent


def test_readme_fault_table_is_current() -> None:
    readme = README.read_text()
    assert readme_with_table(readme) == readme, (
        "README's fault table is stale: run `python -m tests.faults.matrix`"
    )


def parameter_sets(function: Any) -> list[dict[str, Any]]:
    """Every combination of a test function's ``pytest.mark.parametrize`` values."""
    axes = []
    for mark in getattr(function, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names, rows = mark.args[0], mark.args[1]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        combos = []
        for row in rows:
            values = getattr(row, "values", row)  # pytest.param(...) carries .values
            values = values if len(names) > 1 or hasattr(row, "values") else (values,)
            combos.append(dict(zip(names, values, strict=True)))
        axes.append(combos)
    return [{k: v for part in combo for k, v in part.items()} for combo in itertools.product(*axes)]


def fault_expressions(function: ast.FunctionDef) -> Iterator[ast.expr]:
    """The id expressions of ``expect(ID, …)`` calls and ``BY_ID[ID]`` lookups in a test."""
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and node.args:
            callee = node.func
            name = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", "")
            if name == "expect":
                yield node.args[0]
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "BY_ID":
            yield node.slice


def faults_checked(source: str, functions: Mapping[str, Any], where: str) -> dict[str, list[str]]:
    """Fault id → the test functions of ``source`` that check it (``functions``: the module's
    namespace, where the test functions carry their parametrize marks)."""
    found: dict[str, list[str]] = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        for expression in fault_expressions(node):
            code = compile(ast.Expression(expression), where, "eval")
            for parameters in parameter_sets(functions[node.name]):
                try:  # a literal, one of the test's parameters, an f-string of them
                    fault_id = eval(code, {}, dict(parameters))
                except NameError:  # built from something else: not counted
                    continue
                found.setdefault(str(fault_id), []).append(f"{where}::{node.name}")
    return found


def checked_faults() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(HERE.glob("test_*_faults.py")):
        module = importlib.import_module(f"tests.faults.{path.stem}")
        for fault_id, tests in faults_checked(path.read_text(), vars(module), path.name).items():
            found.setdefault(fault_id, []).extend(tests)
    return found


def test_every_fault_has_a_test() -> None:
    tested = checked_faults()
    missing = [fault.id for fault in FAULTS if fault.id not in tested]
    assert not missing, f"faults in the matrix without a test that checks them: {missing}"


def test_every_tested_fault_is_in_the_matrix() -> None:
    unknown = {k: v for k, v in checked_faults().items() if k not in BY_ID}
    assert not unknown, f"tests check faults the matrix does not have: {unknown}"


def test_the_finder_counts_checks_not_mentions() -> None:
    """The finder itself, on a test file written for it: only real checks count."""
    source = """
import pytest

@pytest.mark.parametrize(("fault", "n"), [("dns.servfail", 1), pytest.param("dns.silent", 2)])
def test_a(fault, n):
    expect(fault, run(), within=1)

@pytest.mark.parametrize("code", [4000, 4001])
def test_b(code):
    expect(f"pusher.{code}", run(), within=1)
    assert BY_ID["tcp.refused"].exit_code == 1

def test_c():
    note = "dns.nxdomain"  # mentioned, never checked
    other("tls.expired", run())
"""
    namespace: dict[str, Any] = {}
    exec(compile(source, "<finder>", "exec"), namespace)  # defines the tests, runs none
    found = faults_checked(source, namespace, "<finder>")
    assert found == {
        "dns.servfail": ["<finder>::test_a"],
        "dns.silent": ["<finder>::test_a"],
        "pusher.4000": ["<finder>::test_b"],
        "pusher.4001": ["<finder>::test_b"],
        "tcp.refused": ["<finder>::test_b", "<finder>::test_b"],
    }
