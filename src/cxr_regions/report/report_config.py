"""The settings of ``report``, whose fields are the command's options. Light on imports: ``--help``
reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cxr_regions.options import cli, optional_list


@dataclass
class ReportConfig:
    """What one ``cxr-regions report`` call is given: the stages' folders and tables, and the page."""

    dataset: Path = field(metadata=cli("The dataset folder written by `build`.", "--dataset"))
    evaluation: Path = field(metadata=cli("The evaluation folder written by `evaluate`.", "--evaluation"))
    out: Path = field(default=Path("report.html"), metadata=cli("The HTML file to write.", "-o", "--out"))
    explain: Path | None = field(
        default=None,
        metadata=cli("An explain folder of the test films (named by image_id): their heatmaps."),
    )
    labels: Path | None = field(
        default=None, metadata=cli("labels.csv from `label`: the evidence to highlight.")
    )
    images: Path | None = field(
        default=None,
        metadata=cli("images.csv from `ingest`: links each film to its report's accession number."),
    )
    reports: Path | None = field(
        default=None,
        metadata=cli("The report table `label` read (CSV/TSV/XLSX/XLS/JSONL, any encoding `label` reads)."),
    )
    id_col: str | None = field(
        default=None,
        metadata=cli("The report id column of --reports (default: recognised, as `label` does)."),
    )
    text_cols: list[str] | None = field(
        default=None,
        metadata=cli(
            "Text column(s) of --reports, in reading order (default: recognised, as `label` does).",
            "--text-col",
            type=list[str] | None,
            parse=optional_list,
        ),
    )
    title: str = field(default="cxr-regions report", metadata=cli("The report's title."))
    gallery: int = field(default=24, metadata=cli("How many test films the gallery shows."))
