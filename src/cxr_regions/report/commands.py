"""Command-line entry point of this stage: ``report`` (one self-contained HTML file about a model)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's command to the ``cxr-regions`` app."""

    @app.command()
    def report(
        dataset: Path = typer.Option(..., "--dataset", help="The dataset folder written by `build`."),
        evaluation: Path = typer.Option(
            ..., "--evaluation", help="The evaluation folder written by `evaluate`."
        ),
        out: Path = typer.Option(Path("report.html"), "-o", "--out", help="The HTML file to write."),
        explain_dir: Path = typer.Option(
            None, "--explain", help="An explain folder of the test films (named by image_id): their heatmaps."
        ),
        labels: Path = typer.Option(
            None, "--labels", help="labels.csv from `label`: the evidence to highlight."
        ),
        images: Path = typer.Option(
            None,
            "--images",
            help="images.csv from `ingest`: links each film to its report's accession number.",
        ),
        reports: Path = typer.Option(
            None,
            "--reports",
            help="The report table `label` read (CSV/TSV/XLSX/XLS/JSONL, any encoding `label` reads).",
        ),
        id_col: str = typer.Option(
            None, "--id-col", help="The report id column of --reports (default: recognised, as `label` does)."
        ),
        text_cols: list[str] = typer.Option(
            None,
            "--text-col",
            help="Text column(s) of --reports, in reading order (default: recognised, as `label` does).",
        ),
        title: str = typer.Option("cxr-regions report", "--title", help="The report's title."),
        gallery: int = typer.Option(24, "--gallery", help="How many test films the gallery shows."),
    ) -> None:
        """One self-contained HTML file: Table 1, splits, AUCs with CIs, ROC, a gallery of test films."""
        from cxr_regions.label import read_report_texts
        from cxr_regions.report import ReportInputs, write_html_report

        texts = read_report_texts(reports, id_col, text_cols) if reports else None
        inputs = ReportInputs(
            dataset=dataset, evaluation=evaluation, explain=explain_dir, labels=labels, images=images,
            reports=texts, title=title, gallery_size=gallery,
        )  # fmt: skip
        path = write_html_report(out, inputs)
        typer.echo(f"report: {path}")
