"""Library imports sit at the module top; an import inside a function is a decision with its reason.

Kept inside functions, each with a ``# here: why`` comment on or above it:

- everything in the ``commands.py`` modules, ``cli.py`` and ``options.py`` (``cxr-regions --help`` imports
  them and must stay fast), and in the modules ``--help`` imports through them;
- the optional extras' libraries (timm, transformers, torchxrayvision, dask, highdicom, pynetdicom,
  httpx, ...: ``tests/test_extras.py``), imported where a ``require_extra`` check or the command guards them;
- imports of our own modules that would close a cycle, or pull torch into a command that needs none.

A core library imported inside a function of any other module fails here, unless ``ALLOWED`` names the
module and the library with the reason. Building every command's options must not load ``NOT_FOR_HELP``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import cxr_regions

PACKAGE = Path(cxr_regions.__file__).parent
# Modules `cxr-regions --help` imports to build its options (the stages' ``commands.py``, serve's
# ``admin_commands.py`` and ``pacs_commands.py``): everything they import waits for the command.
COMMAND_MODULES = {"cli.py", "options.py"}
# The core dependencies (pyproject.toml `dependencies`), by import name.
CORE = {
    "PIL",
    "charset_normalizer",
    "cv2",
    "jinja2",
    "lightning",
    "matplotlib",
    "numpy",
    "opencc",
    "openjpeg",
    "openpyxl",
    "pandas",
    "pydantic",
    "pydicom",
    "pypinyin",
    "pytorch_grad_cam",
    "rich",
    "safetensors",
    "scipy",
    "sklearn",
    "torch",
    "torchmetrics",
    "torchvision",
    "yaml",
}
# Libraries `cxr-regions --help` must not load: each costs a noticeable part of a second.
NOT_FOR_HELP = ("opencc", "pandas", "pydicom", "torch")
# (module, library): why the library is imported inside a function there.
ALLOWED = {
    ("build/augment.py", "torch"): "build_dataset imports this module and must not import torch",
    ("contracts/csv_table.py", "pandas"): "the labeler reads and writes these files without pandas",
    ("contracts/label_rows.py", "pandas"): "the labeler reads and writes these files without pandas",
    ("evaluation/calibration.py", "matplotlib"): "serve and explain read calibrations without plotting",
    ("label/pinyin.py", "pypinyin"): "pypinyin's dictionaries are large; loaded for the typo matcher only",
    ("label/table_reader.py", "openpyxl"): "only .xlsx tables need it",
    ("pacs/query.py", "pydicom"): "cxr-regions --help imports it: serve/configuration.py reads parse_query",
}


def _modules() -> list[tuple[str, ast.Module, list[str]]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if path.name in COMMAND_MODULES or path.name.endswith("commands.py"):
            continue
        text = path.read_text(encoding="utf-8")
        found.append((rel, ast.parse(text), text.splitlines()))
    return found


def _function_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    return [
        node
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(fn)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]


def _libraries(node: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(node, ast.ImportFrom):
        return set() if node.level else {(node.module or "").split(".")[0]}
    return {alias.name.split(".")[0] for alias in node.names}


def test_core_libraries_are_imported_at_module_top():
    found = set()
    wrong = []
    for rel, tree, _ in _modules():
        for node in _function_imports(tree):
            for library in _libraries(node) & CORE:
                found.add((rel, library))
                if (rel, library) not in ALLOWED:
                    wrong.append(f"{rel}:{node.lineno} imports {library} inside a function")
    advice = "move these to the module top, or add them to ALLOWED with the reason:\n"
    assert not wrong, advice + "\n".join(wrong)
    assert not set(ALLOWED) - found, f"ALLOWED names imports that are gone: {sorted(set(ALLOWED) - found)}"


def test_every_import_inside_a_function_says_why():
    silent = []
    for rel, tree, lines in _modules():
        for node in _function_imports(tree):
            # the comment may sit on the import, above it, or above the block of imports it belongs to
            first = node.lineno - 1
            while first > 0 and lines[first - 1].lstrip().startswith(("import ", "from ")):
                first -= 1
            block = lines[first : node.end_lineno]
            above = lines[first - 1].strip() if first > 0 else ""
            if not above.startswith("#") and not any("#" in line for line in block):
                silent.append(f"{rel}:{node.lineno}")
    assert not silent, "an import inside a function needs a `# here: why` comment:\n" + "\n".join(silent)


def test_help_of_every_command_imports_none_of_the_heavy_libraries():
    """Building every command's options (what ``--help`` shows) loads no pydicom, pandas, opencc, torch."""
    code = (
        "import sys, click\n"
        "from typer.main import get_command\n"
        "from cxr_regions.cli import app\n"
        "def walk(command, parent):\n"
        "    ctx = click.Context(command, info_name=command.name, parent=parent)\n"
        "    command.get_params(ctx)\n"
        "    if isinstance(command, click.Group):\n"
        "        for name in command.list_commands(ctx):\n"
        "            walk(command.get_command(ctx, name), ctx)\n"
        "walk(get_command(app), None)\n"
        f"print(sorted(m for m in {NOT_FOR_HELP!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(), timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"--help imports {out.stdout.strip()}; import them inside the command"
