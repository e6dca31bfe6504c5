"""Command-line entry points of this stage."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""

    @app.command()
    def demo(
        out: Path = typer.Option(Path("demo-output"), "-o", "--out", help="Folder for every output."),
    ) -> None:
        """Run the pipeline on embedded data (for now: the labeler on a built-in sample of reports)."""
        from importlib import resources

        import pandas as pd

        from cxr_regions.fileio import write_csv, write_text
        from cxr_regions.reports.files import label_file
        from cxr_regions.reports.stats import table1, table1_markdown

        out.mkdir(parents=True, exist_ok=True)
        sample = resources.files("cxr_regions.reports").joinpath("sample_reports.csv")
        with resources.as_file(sample) as reports:
            summary = label_file(reports, out / "labels.csv", progress=False)
        labels = pd.read_csv(out / "labels.csv", dtype=str, keep_default_na=False)
        table = table1(labels)
        skipped = int((labels["status"] == "empty_text").sum())
        markdown = table1_markdown(table, title="Table 1: the built-in sample reports", skipped=skipped)
        write_text(out / "labels.table1.md", markdown)
        write_csv(out / "labels.table1.csv", table)
        typer.echo(f"labelled {summary.rows} sample reports -> {out / 'labels.csv'}\n")
        typer.echo(labels[["report_id", "label_string", "markings_only", "status"]].to_string(index=False))
        typer.echo("\n" + markdown)
