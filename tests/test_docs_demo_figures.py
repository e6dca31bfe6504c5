"""benchmarks/demo_figures.py writes the demo page's figures (docs/getting-started.md) from a demo's
summary.json.

The demo folder here is made without training: a DemoResult with known tables, written by the demo's
own ``summary_record``, so the script reads exactly what ``cxr-regions demo`` writes.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from cxr_regions.fileio import write_json
from cxr_regions.regions import REGION_KEYS
from cxr_regions.workflows.demo import DemoConfig, DemoResult, summary_record

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def figures():
    spec = importlib.util.spec_from_file_location("demo_figures", ROOT / "benchmarks" / "demo_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_demo(folder: Path, seed: int, mean_auc: float) -> Path:
    """A demo folder holding only summary.json, with AUCs and localisation scores we choose."""
    auc = pd.DataFrame(
        {
            "label": [*REGION_KEYS, "mean"],
            "auc": [0.81, 0.77, 0.991, 0.996, 0.88, mean_auc],
            "ci_low": [0.7, 0.6, 0.97, 0.98, 0.75, 0.851],
            "ci_high": [0.9, 0.9, 1.0, 1.0, 0.95, 0.934],
        }
    )
    localisation = pd.DataFrame(
        {
            "region": list(REGION_KEYS),
            "films": [21, 20, 22, 23, 18],
            "pointing_game": [0.1, 0.0, 0.45, 1.0, 0.31],
            "energy_share": [0.4, 0.26, 0.19, 0.42, 0.11],
            "chance": [0.29, 0.2, 0.04, 0.11, 0.06],
            "pointing_game_all": [0.23, 0.0, 0.17, 0.92, 0.22],
            "energy_share_all": [0.4, 0.26, 0.19, 0.42, 0.11],
        }
    )
    config = DemoConfig(out=folder, seed=seed)
    result = DemoResult(out=folder, report=folder / "report.html", auc=auc, localisation=localisation)
    result.seconds = {"train": 150.0, "explain": 30.0}
    folder.mkdir(parents=True)
    write_json(folder / "summary.json", summary_record(config, result))
    return folder


def test_the_paragraph_quotes_the_demos_figures(figures, tmp_path):
    demo = fake_demo(tmp_path / "demo-output", seed=0, mean_auc=0.8984)
    text = figures.figures_paragraph(figures.read_summary(demo))
    flat = " ".join(text.split())
    assert "test mean AUC 0.898 (95% CI 0.851–0.934)" in flat
    assert "thorax 0.810, lungs 0.770, aorta 0.991, heart 0.996, diaphragm 0.880" in flat
    assert "heart 100% of 23 (chance 11%)" in flat and "aorta 45% of 22 (chance 4%)" in flat
    assert "`--seed 0`" in flat and "600 films at 64 px, resnet18, 12 epochs" in flat and "layercam" in flat
    assert "minutes" not in flat  # timings depend on the machine's load, not on the results
    assert max(len(line) for line in text.splitlines()) <= 100


def test_more_runs_add_the_spread_of_the_mean_auc(figures, tmp_path):
    runs = [
        fake_demo(tmp_path / f"seed{s}", seed=s, mean_auc=m) for s, m in ((0, 0.9), (1, 0.88), (2, 0.912))
    ]
    summaries = [figures.read_summary(d) for d in runs]
    flat = " ".join(figures.figures_paragraph(summaries[0], summaries[1:]).split())
    assert "Over 3 demo runs (seeds 0, 1, 2) the test mean AUC ranged 0.880–0.912." in flat


def test_write_replaces_only_the_marked_figures_and_check_sees_drift(figures, tmp_path, capsys):
    demo = fake_demo(tmp_path / "demo-output", seed=0, mean_auc=0.9)
    page = tmp_path / "getting-started.md"
    page.write_text(
        "# x\n\nBefore. <!-- demo-figures -->\nmean AUC 0.5 (old)\n<!-- /demo-figures --> After.\n",
        encoding="utf-8",
    )
    assert figures.main([str(demo), "--page", str(page), "--check"]) == 1
    assert figures.main([str(demo), "--page", str(page), "--write"]) == 0
    written = page.read_text(encoding="utf-8")
    assert written.startswith("# x\n\nBefore. <!-- demo-figures -->\n")
    assert written.endswith("\n<!-- /demo-figures --> After.\n")
    assert "0.5 (old)" not in written and "test mean AUC 0.900" in written
    assert figures.main([str(demo), "--page", str(page), "--check"]) == 0
    assert figures.main([str(demo), "--page", str(page), "--write"]) == 0
    assert page.read_text(encoding="utf-8") == written  # idempotent


def test_missing_summary_or_markers_say_what_to_do(figures, tmp_path):
    with pytest.raises(SystemExit, match="run `cxr-regions demo -o"):
        figures.read_summary(tmp_path)
    with pytest.raises(SystemExit, match="demo-figures"):
        figures.replace_between_markers("no markers here", "text")


def test_the_demo_page_has_the_markers_and_names_the_command(figures):
    page = figures.PAGE.read_text(encoding="utf-8")
    assert figures.PAGE == ROOT / "docs" / "getting-started.md"
    assert page.count(figures.START) == 1 and page.count(figures.END) == 1
    assert "<!-- section: demo -->" in page and "<!-- /section: demo -->" in page
    assert "benchmarks/demo_figures.py" in page
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert figures.START not in readme  # one copy of the figures: the demo page's


def test_the_demo_pages_figures_are_a_paragraph_the_script_writes(figures):
    """The marked text has the script's shape (so ``--write`` replaces it whole, not half of it)."""
    page = figures.PAGE.read_text(encoding="utf-8")
    marked = page.split(figures.START)[1].split(figures.END)[0].strip()
    assert marked.startswith("With `--seed 0` (")
    assert "test mean AUC" in marked and "heatmap peaks inside the region on:" in marked
    assert max(len(line) for line in marked.splitlines()) <= 100


def test_summary_json_is_plain_json(tmp_path):
    demo = fake_demo(tmp_path / "demo-output", seed=3, mean_auc=0.9)
    summary = json.loads((demo / "summary.json").read_text(encoding="utf-8"))
    assert summary["config"]["seed"] == 3 and summary["config"]["out"] == str(demo)
    assert [row["label"] for row in summary["auc"]] == [*REGION_KEYS, "mean"]
    assert {"region", "films", "pointing_game", "chance"} <= set(summary["localisation"][0])
