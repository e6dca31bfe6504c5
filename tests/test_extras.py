"""Install by need: the extras table agrees with pyproject.toml, every import is declared where it is
used (the core stages import nothing from an extra), and a command whose extra is missing says which
extra to install, with exit status 2.

"Missing" is made real in a subprocess: the extra's modules are set to ``None`` in ``sys.modules`` before
anything is imported, which is what Python does for a package that is not there (``import fastapi``
raises ``ModuleNotFoundError``), whatever this environment has installed.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import cxr_regions
from cxr_regions.errors import UserError
from cxr_regions.extras import EXTRAS, missing_modules, require_extra

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(cxr_regions.__file__).parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# Extras for developers, not features of a command: not in EXTRAS.
DEVELOPER_EXTRAS = {"docs", "test", "all"}
# The stages that need an extra whatever they do; every other stage and shared module is the core.
STAGE_EXTRAS = {"pacs": {"pacs"}, "serve": {"serve", "pacs"}}
# Core modules that import an extra's modules inside the function a `require_extra` check guards
# (module by module, so that a new one is a decision, not an accident).
GUARDED = {
    "ingest/engine.py": {"cluster"},
    # the starting points: each raises a UserError naming its extra where the library is missing
    "models/registry.py": {"timm"},
    "models/timm_backbones.py": {"timm"},
    "models/hf_encoders.py": {"hf"},
    "models/txv_weights.py": {"txv"},
}


def _name(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503)."""
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


CORE = {_name(r) for r in PYPROJECT["dependencies"]}


def _extra_distributions(extra: str) -> set[str]:
    return {_name(d) for d in EXTRAS[extra].provides}


def test_extras_table_matches_pyproject():
    declared = PYPROJECT["optional-dependencies"]
    assert set(declared) - DEVELOPER_EXTRAS == set(EXTRAS), "an extra in pyproject.toml but not in extras.py"
    for extra in EXTRAS:
        assert {_name(r) for r in declared[extra]} == _extra_distributions(extra), extra
        assert not _extra_distributions(extra) & CORE, f"[{extra}] repeats a core dependency"
    (everything,) = declared["all"]
    assert everything == f"cxr-regions[{','.join(EXTRAS)}]"


def _third_party_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level module) of every absolute import of a module outside the standard library."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top != "cxr_regions" and top not in sys.stdlib_module_names and top != "__future__":
                found.append((node.lineno, top))
    return found


def test_every_import_is_a_declared_dependency_of_its_place():
    """The core stages (and shared modules) import only the core dependencies; serve and pacs their
    extras too; a guarded core module the extra it checks for. Every library imported is declared."""
    providers = importlib.metadata.packages_distributions()
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        place = relative.split("/")[0].removesuffix(".py")
        extras = STAGE_EXTRAS.get(place, set()) | GUARDED.get(relative, set())
        allowed = CORE.union(*(_extra_distributions(e) for e in extras))
        for line, module in _third_party_imports(path):
            distributions = {_name(d) for d in providers.get(module, [])}
            if not distributions:
                problems.append(
                    f"{relative}:{line} imports {module}, which no installed distribution provides"
                )
            elif not distributions & allowed:
                where = (
                    "the core dependencies" if not extras else f"the core or [{', '.join(sorted(extras))}]"
                )
                problems.append(
                    f"{relative}:{line} imports {module} ({', '.join(sorted(distributions))}), not in {where}"
                )
    assert not problems, "\n".join(problems)


def test_require_extra_names_the_extra_and_the_pip_line(monkeypatch):
    require_extra("serve", "cxr-regions serve")  # installed here: no error
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    monkeypatch.setitem(sys.modules, "watchdog", None)
    assert missing_modules("serve") == ["uvicorn", "watchdog"]
    with pytest.raises(UserError) as caught:
        require_extra("serve", "cxr-regions serve")
    message = str(caught.value)
    assert message.startswith("cxr-regions serve needs the [serve] extra (the reading room)")
    assert "missing: uvicorn, watchdog" in message
    assert message.endswith("pip install 'cxr-regions[serve]'")


def _core_closure() -> set[str]:
    """The distributions ``pip install cxr-regions`` installs: the core and what each requires, read from
    the installed distributions' metadata."""
    from packaging.requirements import Requirement

    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(r) for r in PYPROJECT["dependencies"]]
    while todo:
        requirement = todo.pop()
        name = _name(requirement.name)
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        for line in importlib.metadata.distribution(name).requires or []:
            needed = Requirement(line)
            wanted = [{"extra": e} for e in requirement.extras or {""}]
            if needed.marker is None or any(needed.marker.evaluate(env) for env in wanted):
                todo.append(needed)
    return {name for name, _ in seen}


@pytest.fixture(scope="module")
def without(tmp_path_factory):
    """``without(*extras)`` -> the start of a ``python -S -c`` program that runs as if those extras had
    not been installed: its site-packages is this one's minus their distributions (modules and
    metadata both, so libraries that look a package up by its metadata do not find it either), less
    the distributions the core needs itself."""
    site_packages = Path(sysconfig.get_paths()["purelib"])
    owners: dict[str, set[str]] = {}
    for dist in importlib.metadata.distributions(path=[str(site_packages)]):
        name = _name(dist.metadata["Name"])
        for top in {file.parts[0] for file in dist.files or [] if file.parts}:
            owners.setdefault(top, set()).add(name)
    core = _core_closure()

    def program(*extras: str) -> str:
        gone = set().union(*(_extra_distributions(e) for e in extras)) - core
        folder = tmp_path_factory.mktemp("site-without-" + "-".join(extras))
        for entry in site_packages.iterdir():
            if entry.name != "__pycache__" and not owners.get(entry.name, {""}) <= gone:
                (folder / entry.name).symlink_to(entry)
        return f"import site; site.addsitedir({str(folder)!r})\n"

    return program


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -S -c code args`` (no site-packages but the one ``code`` adds), PYTHONPATH passed on."""
    return subprocess.run(
        [sys.executable, "-S", "-c", code, *args],
        capture_output=True,
        text=True,
        env=os.environ,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def _modules(folder: Path) -> list[str]:
    """The dotted names of the modules under ``folder`` of the package (migration scripts left out)."""
    return sorted(
        ".".join(("cxr_regions", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        for p in folder.rglob("*.py")
        if "migrations" not in p.parts
    )


@pytest.mark.slow  # imports every module in fresh processes
def test_core_modules_and_every_help_import_without_any_extra(without):
    """With no extra installed, every core module imports and `--help` lists every command."""
    core = [m for m in _modules(PACKAGE) if m.split(".")[1:2] not in ([s] for s in STAGE_EXTRAS)]
    code = (
        f"{without(*EXTRAS)}import importlib\n"
        f"for name in {core!r}: importlib.import_module(name)\n"
        "from cxr_regions.cli import main\n"
        "main()"
    )
    out = _run(code, "--help")
    assert out.returncode == 0, out.stderr
    for command in ("label", "ingest", "build", "train", "evaluate", "explain", "report", "demo", "serve"):
        assert command in out.stdout


@pytest.mark.slow  # imports every module of the reading room (torch included) in a fresh process
def test_the_reading_room_imports_without_the_pacs_extra(without):
    """`serve` without `--pacs` needs only [serve]: none of its modules imports the PACS libraries."""
    serve = _modules(PACKAGE / "serve")
    code = f"{without('pacs')}import importlib\nfor name in {serve!r}: importlib.import_module(name)"
    out = _run(code)
    assert out.returncode == 0, out.stderr


# The starting points' checks run after torch is imported (a few seconds in a fresh process).
TORCH = pytest.mark.slow


@pytest.mark.parametrize(
    ("extra", "args"),
    [
        ("serve", ["serve", "{tmp}"]),
        ("pacs", ["serve", "{tmp}", "--pacs", "http://127.0.0.1:9/dicom-web"]),
        ("serve", ["serve-user", "add", "reader", "--users", "{tmp}/users.yaml", "--password-stdin"]),
        ("serve", ["verdicts", "export", "--data", "{tmp}"]),
        ("serve", ["audit", "export", "--data", "{tmp}"]),
        ("serve", ["serve-user", "list", "--users", "{tmp}/users.yaml"]),
        ("serve", ["pacs", "jobs", "--data", "{tmp}"]),
        ("pacs", ["pacs", "pull", "http://127.0.0.1:9/dicom-web", "{tmp}/out"]),
        ("cluster", ["ingest", "{tmp}", "{tmp}/out", "--engine", "dask"]),
        ("cluster", ["build", "{tmp}/out", "--labels", "l.csv", "--images", "i.csv", "--engine", "dask"]),
        ("cluster", ["pretrain-prepare", "{tmp}", "--out", "{tmp}/out", "--engine", "dask"]),
        # the starting points (docs/starting-points.md): checked before the dataset is opened
        pytest.param(
            "timm", ["train", "{tmp}/dataset", "-o", "{tmp}/run", "--arch", "timm:convnext_tiny"], marks=TORCH
        ),
        pytest.param(
            "txv",
            ["train", "{tmp}/dataset", "-o", "{tmp}/run", "--init", "txv:densenet121-res224-nih"],
            marks=TORCH,
        ),
        pytest.param(
            "hf",
            ["train", "{tmp}/dataset", "-o", "{tmp}/run", "--init", "hf:microsoft/rad-dino"],
            marks=TORCH,
        ),
        pytest.param(
            "timm", ["pretrain", "{tmp}/nih", "-o", "{tmp}/run", "--arch", "timm:convnext_tiny"], marks=TORCH
        ),
        # the English gold reports: checked before the behavioural suite runs
        ("english", ["label-eval", "--gold", "iu:eval", "--behaviour", "-o", "{tmp}/out"]),
    ],
    ids=[
        "serve",
        "serve-pacs",
        "serve-user",
        "verdicts",
        "audit",
        "serve-user-list",
        "pacs-jobs",
        "pacs-pull",
        "ingest-dask",
        "build-dask",
        "prepare-dask",
        "train-timm",
        "train-txv",
        "train-hf",
        "pretrain-timm",
        "label-eval-iu",
    ],
)
def test_a_command_without_its_extra_says_which_to_install(without, tmp_path, extra, args):
    code = f"{without(extra)}from cxr_regions.cli import main\nmain()"
    out = _run(code, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert out.returncode == 2, (out.stdout, out.stderr)
    message = " ".join(out.stderr.split())
    assert f"needs the [{extra}] extra" in message
    assert f"pip install 'cxr-regions[{extra}]'" in message
    assert "Traceback" not in out.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written before the check
