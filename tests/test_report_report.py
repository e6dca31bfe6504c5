"""The HTML report: produced from a trained phantom run, self-contained, and loads in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from cxr_regions.regions import REGION_KEYS
from helpers import one_torch_thread

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
GALLERY = 6


@pytest.fixture(scope="module")
def report_html(phantom_dataset, trained_run, tmp_path_factory) -> Path:
    """evaluate -> explain (a few test films) -> reports labelled by the labeler -> report.html."""
    from cxr_regions.build import open_dataset
    from cxr_regions.evaluation import evaluate_run
    from cxr_regions.explain import explain_images
    from cxr_regions.label import label_file, read_report_texts
    from cxr_regions.phantom import write_report
    from cxr_regions.report import ReportInputs, write_html_report

    root = tmp_path_factory.mktemp("htmlreport")
    with one_torch_thread():
        evaluation = evaluate_run(trained_run, "test", root / "evaluation", n_boot=50).out
        data = open_dataset(phantom_dataset)
        test = data.manifest[data.manifest["split"] == "test"].sort_values("image_id")
        films = root / "films"
        films.mkdir()
        abnormal = test[test[list(REGION_KEYS)].sum(axis=1) > 0].head(GALLERY)
        for row in abnormal.itertuples():
            cv2.imwrite(str(films / f"{row.image_id}.png"), np.asarray(data.images[row.index]))
        explain_images(trained_run, [films], root / "explain", panels=False, progress=False)
    rng = np.random.default_rng(7)
    rows = []
    for row in test.itertuples():
        findings, impression = write_report(rng, {k: str(getattr(row, k)) for k in REGION_KEYS})
        rows.append({"report_id": row.image_id, "findings": findings, "impression": impression})
    rows[0]["impression"] += " <script>alert(1)</script>"  # text must be escaped, not run
    pd.DataFrame(rows).to_csv(root / "reports.csv", index=False, encoding="gb18030")
    label_file(root / "reports.csv", root / "labels.csv", id_col="report_id", progress=False)
    texts = read_report_texts(root / "reports.csv", "report_id", ["findings", "impression"])
    inputs = ReportInputs(
        dataset=phantom_dataset,
        evaluation=evaluation,
        explain=root / "explain",
        labels=root / "labels.csv",
        reports=texts,
        title="cxr-regions test report",
        phantom=True,
        gallery_size=GALLERY + 2,
    )
    return write_html_report(root / "report.html", inputs)


def test_report_is_one_self_contained_utf8_file(report_html):
    html = report_html.read_text(encoding="utf-8")
    assert '<meta charset="utf-8">' in html
    assert "PHANTOM DATA" in html
    sources = re.findall(r'src="([^"]*)"', html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r'(href|src)="(https?:|//)', html)
    assert "心影" in html and "膈面膈角" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert '<mark class="cue r-' in html  # the labeler's evidence is highlighted


def test_report_loads_in_headless_chromium_with_tables_and_images(report_html, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium); the browser test needs it"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            page.on(
                "console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type == "error" else None
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.goto(report_html.as_uri(), wait_until="load")
            counts = page.evaluate(
                """() => ({
                    table1: document.querySelectorAll('#table-table1 tbody tr').length,
                    splits: document.querySelectorAll('#table-splits tbody tr').length,
                    auc: document.querySelectorAll('#table-auc tbody tr').length,
                    cards: document.querySelectorAll('article.card').length,
                    heatmaps: document.querySelectorAll('img.heatmap').length,
                    images: document.images.length,
                    broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).length,
                    roc: document.getElementById('roc')?.naturalWidth ?? 0,
                    marks: document.querySelectorAll('.report mark').length,
                    fontSize: getComputedStyle(document.body).fontSize,
                })"""
            )
            page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        finally:
            browser.close()
    assert problems == []
    assert counts["table1"] == len(REGION_KEYS) + 2  # normal, the regions, total
    assert counts["splits"] == 3
    assert counts["auc"] == len(REGION_KEYS) + 1  # the regions and the mean
    assert counts["cards"] == GALLERY + 2
    assert counts["broken"] == 0 and counts["images"] >= counts["cards"] + 1
    assert counts["roc"] > 0 and counts["marks"] > 0
    assert counts["fontSize"] == "15px"  # the style sheet was applied (not escaped away)
    assert counts["heatmaps"] >= 1
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_report_command_writes_the_file(report_html, phantom_dataset, tmp_path):
    from typer.testing import CliRunner

    from cxr_regions.cli import app

    root = report_html.parent
    out = tmp_path / "r.html"
    args = ["report", "--dataset", str(phantom_dataset), "--evaluation", str(root / "evaluation"),
            "-o", str(out), "--explain", str(root / "explain"), "--labels", str(root / "labels.csv"),
            "--reports", str(root / "reports.csv"), "--id-col", "report_id", "--gallery", "3"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.count('<article class="card"') == 3
    missing = CliRunner().invoke(
        app, ["report", "--dataset", str(phantom_dataset), "--evaluation", str(tmp_path)]
    )
    assert "evaluation.json" in str(missing.exception)


@pytest.mark.parametrize("kind", ["utf-16", "xlsx"])
def test_report_command_reads_the_report_tables_label_reads(report_html, phantom_dataset, tmp_path, kind):
    from typer.testing import CliRunner

    from cxr_regions.cli import app

    root = report_html.parent
    table = pd.read_csv(root / "reports.csv", dtype=str, keep_default_na=False, encoding="gb18030")
    if kind == "xlsx":
        source = tmp_path / "reports.xlsx"
        table.to_excel(source, index=False)
    else:  # Excel's "Unicode text"
        source = tmp_path / "reports.txt"
        table.to_csv(source, sep="\t", index=False, encoding="utf-16")
    pages = {}
    for name, reports in (("gb18030", root / "reports.csv"), (kind, source)):
        out = tmp_path / f"{name}.html"
        args = [
            "report",
            "--dataset",
            str(phantom_dataset),
            "--evaluation",
            str(root / "evaluation"),
            "-o",
            str(out),
            "--labels",
            str(root / "labels.csv"),
            "--reports",
            str(reports),
            "--gallery",
            "3",
        ]  # fmt: skip  (id and text columns recognised, as label recognises them)
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        pages[name] = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", out.read_text(encoding="utf-8"))
    assert '<mark class="cue r-' in pages[kind]  # the texts were found and their evidence marked
    assert pages[kind] == pages["gb18030"]
