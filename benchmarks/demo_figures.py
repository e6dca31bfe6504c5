"""The demo page's figures, from what a `cxr-regions demo` run wrote (its summary.json).

    .venv/bin/python benchmarks/demo_figures.py demo-output             # print the paragraph
    .venv/bin/python benchmarks/demo_figures.py demo-output --write     # put it in the demo page
    .venv/bin/python benchmarks/demo_figures.py demo-output --check     # exit 1 if the page differs
    .venv/bin/python benchmarks/demo_figures.py demo-output seed1 seed2 # + spread over more runs

The first folder gives the figures: test mean AUC with its 95% patient-bootstrap interval, the AUC
per region, and per region how often the heatmap peaks inside the region on the test films whose
label calls it abnormal, beside the chance level (the region's share of the film). Further folders
(demo runs with other ``--seed``s, or the same seed again) add the range of the mean AUC over all
runs given. ``--write`` replaces the text between ``<!-- demo-figures -->`` and
``<!-- /demo-figures -->`` in the demo page (docs/getting-started.md), so the documentation quotes no
demo figure that a run did not print.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cxr_regions.regions import REGION_KEYS

START, END = "<!-- demo-figures -->", "<!-- /demo-figures -->"
PAGE = Path(__file__).resolve().parents[1] / "docs" / "getting-started.md"


def read_summary(demo: Path) -> dict[str, Any]:
    """A demo folder's ``summary.json`` (written by ``cxr-regions demo`` next to ``summary.md``)."""
    path = demo / "summary.json"
    if not path.is_file():
        raise SystemExit(f"{path} not found: run `cxr-regions demo -o {demo}` (a version that writes it)")
    return json.loads(path.read_text(encoding="utf-8"))


def _auc(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["label"]: row for row in summary["auc"]}


def figures_paragraph(summary: dict[str, Any], others: Sequence[dict[str, Any]] = ()) -> str:
    """The demo section's figures as markdown, wrapped at 100 characters (no timings: they depend on the
    machine's load, and the paragraph must be the same for the same results)."""
    config = summary["config"]
    auc = _auc(summary)
    mean = auc["mean"]
    regions = ", ".join(f"{k} {auc[k]['auc']:.3f}" for k in REGION_KEYS if k in auc)
    text = [
        f"With `--seed {config['seed']}` ({config['films']} films at {config['size']} px, {config['arch']}, "
        f"{config['epochs']} epochs): test mean AUC {mean['auc']:.3f} (95% CI {mean['ci_low']:.3f}–"
        f"{mean['ci_high']:.3f}); {regions}."
    ]
    if others:
        runs = [summary, *others]
        means = [_auc(s)["mean"]["auc"] for s in runs]
        seeds = ", ".join(str(s["config"]["seed"]) for s in runs)
        text.append(
            f"Over {len(runs)} demo runs (seeds {seeds}) the test mean AUC ranged "
            f"{min(means):.3f}–{max(means):.3f}."
        )
    local = {row["region"]: row for row in summary.get("localisation", [])}
    if local:
        parts = [
            f"{k} {local[k]['pointing_game']:.0%} of {local[k]['films']} (chance {local[k]['chance']:.0%})"
            for k in REGION_KEYS
            if k in local
        ]
        text.append(
            f"On the test films with the region abnormal, the {config['method']} heatmap peaks inside "
            f"the region on: {'; '.join(parts)}."
        )
    return wrap(" ".join(text))


def wrap(text: str, width: int = 100) -> str:
    """Break ``text`` at spaces into lines of at most ``width`` characters (CJK-free text)."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line])


def replace_between_markers(page: str, paragraph: str) -> str:
    """``page`` with the text between the demo-figures markers replaced by ``paragraph``."""
    if page.count(START) != 1 or page.count(END) != 1 or page.index(START) > page.index(END):
        raise SystemExit(f"the demo page needs one {START} … {END} pair around the demo figures")
    head, rest = page.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{paragraph}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demo", type=Path, nargs="+", help="demo output folders; the first gives the figures")
    parser.add_argument("--page", type=Path, default=PAGE, help="the page holding the markers")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="replace the figures in the page")
    action.add_argument("--check", action="store_true", help="exit 1 if the page's figures differ")
    args = parser.parse_args(argv)

    summaries = [read_summary(d) for d in args.demo]
    paragraph = figures_paragraph(summaries[0], summaries[1:])
    if not (args.write or args.check):
        print(paragraph)
        return 0
    page = args.page.read_text(encoding="utf-8")
    updated = replace_between_markers(page, paragraph)
    if args.check:
        if updated != page:
            print(f"{args.page}: the demo figures differ from {args.demo[0]}/summary.json:\n{paragraph}")
            return 1
        print(f"{args.page}: the demo figures match {args.demo[0]}/summary.json")
        return 0
    args.page.write_text(updated, encoding="utf-8")
    print(f"wrote the demo figures of {args.demo[0]} into {args.page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
