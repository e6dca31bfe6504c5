"""No module outside the contracts layer opens a contract file by name: the names live in
``cxr_regions.contracts.names`` and the files are read and written through their records
(labels.csv included: its rows are dataclasses, not a catalogued pydantic record, but it too is read and
written through its contract only, ``cxr_regions.contracts.label_rows``).

Two checks over the package's source (docstrings and messages are free to name files):
- no string constant is a contract file's name or a relative path ending in one;
- no call that reads a file (``pd.read_csv``, ``json.load(s)``, ``yaml.safe_load``, ``read_text``,
  ``open``) is handed a path built from a contract's file name (``X.FILE``, ``TABLE.file``, a
  ``*_FILE`` or ``*_CSV``/``*_JSON`` name constant).
"""

from __future__ import annotations

import ast
from pathlib import Path

import cxr_regions
from cxr_regions.contracts.label_rows import LABELS
from cxr_regions.contracts.names import CONTRACT_FILES

PACKAGE = Path(cxr_regions.__file__).parent
CONTRACTS = PACKAGE / "contracts"
READERS = {"read_csv", "load", "loads", "safe_load", "read_text", "read_bytes", "open"}
NAME_ATTRIBUTES = {"FILE", "file"}  # Document.FILE, Table.file
NAME_CONSTANTS = {"EVALUATION_FILE", "PREDICTIONS_FILE", "CALIBRATION_FILE", "INFO_FILE"}
FILES: tuple[str, ...] = (*CONTRACT_FILES, LABELS.file)
"""The catalogued records' files and labels.csv."""
ALLOWED: set[tuple[str, str]] = set()
"""(module, file name) pairs allowed to name a contract file, each with its reason: none today."""


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if CONTRACTS not in p.parents)


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings (module, class, function, attribute notes)."""
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for item in body:
                if isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant):
                    out.add(id(item.value))
    return out


def names_a_contract_file(value: str) -> str | None:
    for name in FILES:
        if value == name or (value.endswith("/" + name) and not value.startswith("/")):
            return name
    return None


def test_no_module_names_a_contract_file():
    found = []
    for path in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = docstrings(tree)
        in_fstrings = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
        rel = path.relative_to(PACKAGE).as_posix()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            if id(node) in skip or id(node) in in_fstrings:
                continue
            name = names_a_contract_file(node.value)
            if name and (rel, name) not in ALLOWED:
                found.append(f"{rel}:{node.lineno} {node.value!r}")
    assert not found, "contract files named outside cxr_regions.contracts (use its records):\n" + "\n".join(
        found
    )


def test_no_module_reads_a_file_whose_path_it_builds_from_a_contract_name():
    found = []
    for path in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called not in READERS:
                continue
            scope = [*node.args, *(k.value for k in node.keywords)]
            if isinstance(func, ast.Attribute):
                scope.append(func.value)  # (folder / X.FILE).read_text()
            for part in scope:
                for inner in ast.walk(part):
                    if isinstance(inner, ast.Attribute):
                        named, bad = inner.attr, inner.attr in NAME_ATTRIBUTES
                    elif isinstance(inner, ast.Name):
                        named = inner.id
                        bad = named in NAME_CONSTANTS or (
                            named.isupper() and named.endswith(("_CSV", "_JSON"))
                        )
                    else:
                        continue
                    if bad:
                        found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {called}(... {named} ...)")
    assert not found, "contract files read by name outside cxr_regions.contracts:\n" + "\n".join(found)


def test_the_check_finds_what_it_looks_for(tmp_path):
    """The checks themselves: a literal name is found, as is a read of a path built from a name."""
    tree = ast.parse(
        'x = pd.read_csv(folder / "images.csv")\ny = json.loads((run / ModelInfo.FILE).read_text())\n'
        'z = pd.read_csv(folder / "labels.csv")'
    )
    constants = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)]
    assert names_a_contract_file(constants[0]) == "images.csv"
    assert names_a_contract_file(constants[1]) == "labels.csv"
    assert names_a_contract_file("label/labels.csv") == "labels.csv"
    assert names_a_contract_file("ingest/images.csv") == "images.csv"
    assert names_a_contract_file("/export/verdicts.csv") is None  # a URL route, not a path
    assert names_a_contract_file("images.csv written by ingest") is None
    calls = [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "read_text"
    ]
    assert any(
        isinstance(i, ast.Attribute) and i.attr == "FILE" for c in calls for i in ast.walk(c.func.value)
    )
