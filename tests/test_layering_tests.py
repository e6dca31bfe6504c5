"""The tests' own layout: what test modules share comes from the ``tests/helpers`` package, never from
``conftest.py`` (pytest loads conftest itself; importing it a second time as a module runs it twice)
nor from another test module (which would be collected, and its fixtures defined, twice)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_no_test_module_imports_conftest_or_another_test_module():
    offenders = [
        f"{path.relative_to(TESTS)}:{line}"
        for path in sorted(TESTS.rglob("*.py"))
        for line, module in _imported_modules(path)
        if module.split(".")[0] == "conftest" or module.startswith(("tests.conftest", "test_", "tests.test_"))
    ]
    assert not offenders, f"import these from the tests/helpers package instead: {offenders}"


def test_shared_helpers_live_in_the_helpers_package():
    """A module beside the tests that is neither a test nor conftest belongs in tests/helpers (a script
    run in a process of its own, such as ``dask_culprits.py``, is named here)."""
    scripts = {"dask_culprits.py"}
    stray = [
        p.name
        for p in TESTS.glob("*.py")
        if not p.name.startswith("test_") and p.name not in {"conftest.py", *scripts}
    ]
    assert not stray, f"move {stray} into tests/helpers/"
