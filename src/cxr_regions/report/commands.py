"""Command-line entry point of this stage: ``report`` (one self-contained HTML file about a model)."""

from __future__ import annotations

import typer

from cxr_regions.options import command
from cxr_regions.report.report_config import ReportConfig


def register(app: typer.Typer) -> None:
    """Add this stage's command to the ``cxr-regions`` app."""
    command(app, "report", ReportConfig, report)


def report(config: ReportConfig) -> None:
    """One self-contained HTML file: Table 1, splits, AUCs with CIs, ROC, a gallery of test films."""
    from cxr_regions.label import read_report_texts
    from cxr_regions.report import ReportInputs, write_html_report

    texts = read_report_texts(config.reports, config.id_col, config.text_cols) if config.reports else None
    inputs = ReportInputs(
        dataset=config.dataset, evaluation=config.evaluation, explain=config.explain, labels=config.labels,
        images=config.images, reports=texts, title=config.title, gallery_size=config.gallery,
    )  # fmt: skip
    path = write_html_report(config.out, inputs)
    typer.echo(f"report: {path}")
