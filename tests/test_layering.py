"""No stage imports a later one: the package's folders follow the pipeline, and the test says where not.

The order is the README's pipeline (``phantom -> ingest -> label -> build -> train -> evaluate ->
explain -> report``), with the stages that have no command of their own put where they are used:

- ``phantom`` (1) makes films and reports from nothing and imports no stage, so it comes first, as
  in the README, even though ``demo`` is its only user;
- ``ingest`` (2) and ``label`` (3) are independent of each other; ``build``
  (4, build) joins their outputs and uses both (``fit_square``, Table 1);
- ``models`` (the networks) comes before ``training`` (5, train), which uses it; ``pretrain``
  trains on ChestX-ray14 with ``training``, and ``evaluation`` (6) scores runs of either;
- ``explain`` (7) then ``report`` (8), which shows explain's heatmaps;
- ``workflows`` (``demo``, ``experiment``) run the stages and train models, so they come after all
  of them; ``pacs`` (the PACS over DICOMweb: search, retrieve, result objects, ``pacs pull``) then
  ``serve`` (the reading room), which polls the PACS and sends results back through pacs's public
  names; pacs knows nothing of the reading room (its ledger of fetched and sent instances lives in
  serve's database), so the dependency runs one way.

Shared modules below every stage may be imported anywhere and import no stage: regions, errors,
fileio, configfile, lazy, progress, imageio, options (CLI options from typed configs), confidence (AUCs with
patient-bootstrap CIs, used by pretrain and evaluation), contracts (the typed records of every file
that crosses stages, read and written through them by every stage), extras (which optional extra
a command needs, and the message when it is missing), redaction (no identity in a log: the
filter every log record passes, the identifying values ingest scrubs from its texts), the package root
(its version); the CLI entry point imports each stage's ``commands`` by name, not by an import
statement, and is not checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import cxr_regions

ORDER = (
    "phantom",
    "ingest",
    "label",
    "build",
    "models",
    "training",
    "pretrain",
    "evaluation",
    "explain",
    "report",
    "workflows",
    "pacs",
    "serve",
)
SHARED = {
    "regions",
    "errors",
    "fileio",
    "configfile",
    "lazy",
    "progress",
    "imageio",
    "options",
    "confidence",
    "contracts",
    "redaction",
    "extras",
    "cli",
    "__init__",
}
PACKAGE = Path(cxr_regions.__file__).parent


def _place(module: str) -> str | None:
    """The stage (or shared module) a dotted ``cxr_regions.x...`` name belongs to."""
    parts = module.split(".")
    if parts[0] != "cxr_regions":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in a file, relative imports resolved."""
    package = ".".join(("cxr_regions", *path.relative_to(PACKAGE).parent.parts))
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                found.append((node.lineno, ".".join([*base, *([node.module] if node.module else [])])))
            elif node.module:
                found.append((node.lineno, node.module))
                if node.module == "cxr_regions":  # ``from cxr_regions import explain`` names a stage
                    found += [(node.lineno, f"cxr_regions.{a.name}") for a in node.names if a.name[0] != "_"]
    return found


def test_every_module_is_a_known_stage_or_shared():
    unknown = sorted(
        {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.glob("*")}
        - set(ORDER)
        - SHARED
        - {"__pycache__", "py.typed"}
    )
    assert not unknown, f"place {unknown} in ORDER (a stage) or SHARED (tests/test_layering.py)"


def test_no_stage_imports_a_later_stage():
    rank = {stage: i for i, stage in enumerate(ORDER)}
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if here in SHARED and here != "cli":
            here_rank = -1  # shared modules import no stage at all
        elif here == "cli" or here not in rank:  # an unknown folder fails the test above
            continue
        else:
            here_rank = rank[here]
        for line, module in _imports(path):
            target = _place(module)
            if target is None or target == here or target in SHARED:
                continue
            if target not in rank or rank[target] > here_rank:
                problems.append(f"{path.relative_to(PACKAGE)}:{line} imports {module} ({here} -> {target})")
    assert not problems, "a stage imports a later one:\n" + "\n".join(problems)
