"""Command-line entry points of this stage: ``label``, ``label-stats``, ``label-eval``.

Each command's options are the fields of its dataclass below (:mod:`cxr_regions.options`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from cxr_regions.contracts.names import LABELS_CSV
from cxr_regions.errors import UserError
from cxr_regions.extras import require_extra
from cxr_regions.options import cli, command, optional_list


@dataclass
class LabelCommand:
    """What one ``cxr-regions label`` call is given."""

    input_path: Path = field(
        metadata=cli(
            "Reports: CSV, TSV, XLSX, XLS or JSONL (UTF-8, UTF-8 BOM, GB18030/GBK).",
            argument=True,
            metavar="INPUT",
        )
    )
    output: Path = field(
        default=Path(LABELS_CSV), metadata=cli("Where to write labels.csv.", "-o", "--output")
    )
    id_col: str | None = field(
        default=None,
        metadata=cli("Report id column (default: recognised by name, e.g. accession_number)."),
    )
    text_cols: list[str] | None = field(
        default=None,
        metadata=cli(
            "Text column; repeat for several (findings, impression), read together. "
            "Default: every column recognised by name.",
            "--text-col",
            type=list[str] | None,
            parse=optional_list,
        ),
    )
    binary: bool = field(default=False, metadata=cli("Write 1/0 (u counted as 1) instead of 1/u/0."))
    markings_abnormal: bool = field(
        default=False,
        metadata=cli(
            "Count lung markings that are only increased (纹理增多) as abnormal "
            "(the method counts them normal)."
        ),
    )
    vocabulary: Path | None = field(
        default=None,
        metadata=cli("Your own vocabulary YAML (start it with `extends: default` to add to ours)."),
    )
    chunk_rows: int = field(default=20_000, metadata=cli("Rows read and labelled at a time (at least 100)."))
    quiet: bool = field(default=False, metadata=cli("No progress bar.", "--quiet", "-q"))
    language: str = field(
        default="zh",
        metadata=cli("Report language: zh (Chinese), en (English) or auto (per report, by its script)."),
    )
    review: Path | None = field(
        default=None,
        metadata=cli(
            "Also write where the labeler is least sure, for a person to check: the words it read "
            "only through a typo, then the clauses it could not read, most frequent first (kind, clause, "
            "read_as, reports, example_report_id): what to add to your vocabulary file."
        ),
    )

    def __post_init__(self) -> None:
        if self.chunk_rows < 100:
            raise UserError(f"--chunk-rows must be at least 100, got {self.chunk_rows}")


@dataclass
class LabelStatsCommand:
    """What one ``cxr-regions label-stats`` call is given."""

    labels: Path = field(
        metadata=cli("labels.csv written by `label` (or any table with region columns).", argument=True)
    )
    out: Path | None = field(
        default=None,
        metadata=cli("Output prefix (default: beside the input, <name>.table1.md/.csv).", "-o", "--out"),
    )


@dataclass
class LabelEvalCommand:
    """What one ``cxr-regions label-eval`` call is given."""

    gold: str | None = field(
        default=None,
        metadata=cli(
            "Gold JSONL (id, text, labels), like zh-reports/dev.jsonl; a labels.csv-format CSV such "
            "as `verdicts export` writes; or iu, iu:dev, iu:eval: the IU X-ray reports with MeSH-derived "
            "labels, read from the installed torchxrayvision wheel (docs/english-labels.md). "
            "Optional with --behaviour.",
            "--gold",
        ),
    )
    pred: Path | None = field(
        default=None, metadata=cli("labels.csv to score (default: run the labeler on the gold texts).")
    )
    vocabulary: Path | None = field(default=None, metadata=cli("Vocabulary YAML for the labeler."))
    markings_abnormal: bool = field(default=False, metadata=cli("The other markings policy."))
    out: Path | None = field(
        default=None,
        metadata=cli("Folder for score.json and disagreements.csv (default: print only).", "-o", "--out"),
    )
    show: int = field(default=50, metadata=cli("Disagreements to print (all are written with --out)."))
    language: str | None = field(
        default=None,
        metadata=cli("Language of the gold texts: zh, en or auto (default: en for iu, else zh)."),
    )
    errors: Path | None = field(
        default=None,
        metadata=cli(
            "Write every disagreement (text, gold, predicted, evidence) grouped by region and rule "
            "to this Markdown file."
        ),
    )
    behaviour: bool = field(
        default=False,
        metadata=cli(
            "Run the generated behavioural suite (Chinese; docs/labeling-robustness.md) and print its "
            "failure rate per family (tuned and held-out templates) and per region; with --out also write "
            "behaviour.csv, behaviour_regions.csv and behaviour_failures.csv. Without --gold, only this."
        ),
    )
    seed: int = field(default=0, metadata=cli("Seed of the behavioural suite."))

    def __post_init__(self) -> None:
        # here: cxr-regions --help imports this module
        from cxr_regions.label.iu_xray import parse_gold_name

        if self.gold is not None and parse_gold_name(self.gold) is not None:
            require_extra("english", f"cxr-regions label-eval --gold {self.gold}")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""
    command(app, "label", LabelCommand, label)
    command(app, "label-stats", LabelStatsCommand, label_stats)
    command(app, "label-eval", LabelEvalCommand, label_eval)


def label(config: LabelCommand) -> None:
    """Label chest-film reports with the five regions (1 abnormal, u uncertain, 0 normal).

    Writes labels.csv (report_id, thorax lungs aorta heart diaphragm, label_string,
    markings_only, status, evidence, unread) and labels.config.yaml beside it.
    """
    from rich.console import Console

    from cxr_regions.label.files import label_file

    summary = label_file(
        config.input_path,
        config.output,
        id_col=config.id_col,
        text_cols=config.text_cols,
        binary=config.binary,
        markings_abnormal=config.markings_abnormal,
        vocabulary=config.vocabulary,
        chunk_rows=config.chunk_rows,
        progress=not config.quiet,
        language=config.language,
        review=config.review,
    )
    console = Console(stderr=True)
    rate = summary.rows / summary.seconds if summary.seconds else 0.0
    console.print(
        f"labelled [bold]{summary.rows}[/] report(s) from {config.input_path} "
        f"(id: {summary.id_col}; text: {', '.join(summary.text_cols)}; "
        f"encoding: {summary.encoding or 'excel'}) "
        f"in {summary.seconds:.1f} s ({rate:,.0f}/s) -> {config.output}",
        highlight=False,
    )
    abnormal = ", ".join(f"{k} {summary.abnormal[k]}+{summary.uncertain[k]}u" for k in summary.abnormal)
    console.print(
        f"normal films {summary.normal_films}; abnormal per region: {abnormal}; "
        f"markings only {summary.markings_only}",
        highlight=False,
    )
    share = summary.with_unread / summary.rows if summary.rows else 0.0
    console.print(
        f"reports with unread clauses {summary.with_unread} ({share:.1%}); "
        f"distinct unread clauses {summary.unread_clauses}",
        highlight=False,
    )
    if summary.with_typos:
        console.print(
            f"reports with words read through a typo {summary.with_typos}; "
            f"distinct typo reads {summary.typo_reads}",
            highlight=False,
        )
    if config.review is not None:
        console.print(
            f"wrote the typo reads, then the unread clauses, most frequent first, to {config.review}",
            highlight=False,
        )
    if summary.empty_text:
        console.print(f"[yellow]{summary.empty_text} row(s) had no text: all 0, status empty_text[/]")
    if summary.missing_id:
        console.print(f"[yellow]{summary.missing_id} row(s) have an empty {summary.id_col}[/]")


def label_stats(config: LabelStatsCommand) -> None:
    """Print and write the paper's Table 1: normal films; per region abnormal, overlap, overlap rate."""
    import pandas as pd

    from cxr_regions.fileio import write_csv, write_text
    from cxr_regions.label.table_one import table1, table1_markdown

    labels = config.labels
    if not labels.is_file():
        raise UserError(f"labels file not found: {labels}")
    frame = pd.read_csv(labels, dtype=str, keep_default_na=False)
    try:
        table = table1(frame)
    except (KeyError, ValueError) as exc:
        raise UserError(f"{labels}: {exc}") from None
    skipped = int((frame["status"] == "empty_text").sum()) if "status" in frame.columns else 0
    markdown = table1_markdown(table, title=f"Table 1: {labels.name}", skipped=skipped)
    prefix = config.out if config.out is not None else labels.with_suffix("")
    md_path = Path(f"{prefix}.table1.md")
    csv_path = Path(f"{prefix}.table1.csv")
    write_text(md_path, markdown)
    write_csv(csv_path, table)
    typer.echo(markdown)
    if "unread" in frame.columns:
        read = frame[frame["status"] != "empty_text"] if "status" in frame.columns else frame
        with_unread = int((~read["unread"].isin(["", "[]"])).sum())
        share = with_unread / len(read) if len(read) else 0.0
        typer.echo(f"reports with unread clauses: {with_unread} of {len(read)} ({share:.1%})")
    typer.echo(f"wrote {md_path} and {csv_path}")


def label_eval(config: LabelEvalCommand) -> None:
    """Score labels against gold: per region precision/recall/F1 (u as 1), 3-way accuracy, macro F1.

    A gold file whose records name a `rule` (tests/data/policy_suite.jsonl) is scored per rule too.
    `--behaviour` runs the generated behavioural suite instead of (or as well as) a gold file.
    """
    if config.behaviour:
        from cxr_regions.label.behaviour_report import print_behaviour

        print_behaviour(
            seed=config.seed,
            vocabulary=config.vocabulary,
            markings_abnormal=config.markings_abnormal,
            out=config.out,
        )
    if config.gold is None:
        if config.behaviour:
            return
        raise UserError("give --gold FILE (or iu, iu:dev, iu:eval) and/or --behaviour")
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from cxr_regions.fileio import write_csv, write_json, write_text
    from cxr_regions.label.bilingual import make_labeler
    from cxr_regions.label.disagreements import errors_markdown
    from cxr_regions.label.iu_xray import iu_gold, parse_gold_name
    from cxr_regions.label.scoring import read_gold, read_predictions, score
    from cxr_regions.regions import to_binary

    gold, out, errors = config.gold, config.out, config.errors
    part = parse_gold_name(gold)
    records = iu_gold(part) if part is not None else read_gold(gold)
    predictions = read_predictions(config.pred) if config.pred is not None else None
    if predictions is None and records and not any(str(r.get("text") or "").strip() for r in records):
        raise UserError(f"{gold}: the gold records have no report text to label; give --pred labels.csv")
    labeler = None
    if predictions is None:
        lang = config.language or ("en" if part is not None else "zh")
        labeler = make_labeler(lang, config.vocabulary, markings_abnormal=config.markings_abnormal)
    result = score(records, predictions, labeler=labeler)

    console = Console()
    table = Table(title=f"{Path(gold).name}: {result.reports} reports")
    for column in ("region", "precision", "recall", "F1", "3-way acc", "tp", "fp", "fn"):
        table.add_column(column, justify="left" if column == "region" else "right")
    for key, s in result.regions.items():
        table.add_row(
            key, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", f"{s.accuracy3:.3f}",
            str(s.tp), str(s.fp), str(s.fn),
        )  # fmt: skip
    console.print(table)
    console.print(f"macro F1 [bold]{result.macro_f1:.4f}[/]", highlight=False)
    if result.rules:
        rules = Table(title="per rule: records with all five values right")
        for column in ("rule", "records", "passed", "pass rate"):
            rules.add_column(column, justify="left" if column == "rule" else "right")
        for row in result.rule_table().itertuples(index=False):
            rules.add_row(row.rule, str(row.records), str(row.passed), f"{row.pass_rate:.3f}")
        console.print(rules)
    if result.markings_agree is not None:
        console.print(f"markings_only agreement {result.markings_agree}/{result.markings_n}", highlight=False)
    binary = {d.report_id for d in result.disagreements if to_binary(d.gold) != to_binary(d.predicted)}
    console.print(
        f"{len(result.disagreements)} disagreement(s) of the three values; {len(binary)} of "
        f"{result.reports} reports ({len(binary) / max(result.reports, 1):.1%}) disagree in at least one "
        "region when u counts as 1",
        highlight=False,
    )
    mesh = {str(r["id"]): "; ".join(r["mesh"]) for r in records if "mesh" in r}
    for d in result.disagreements[: config.show]:
        tags = f" | MeSH {mesh[d.report_id]}" if d.report_id in mesh else ""
        console.print(
            f"  {d.report_id} {d.region}: gold {d.gold} predicted {d.predicted} | {d.text[:120]!r}"
            f" | evidence {d.evidence[:200]}{tags}",
            highlight=False,
            markup=False,
        )
    if errors is not None:
        write_text(errors, errors_markdown(result, title=f"Labeler disagreements: {Path(gold).name}"))
        console.print(f"wrote {errors}")
    if out is not None:
        write_json(out / "score.json", {**result.to_dict(), "reports_disagreeing_binary": len(binary)})
        rows = [{**d.__dict__, **({"mesh": mesh[d.report_id]} if mesh else {})} for d in result.disagreements]
        write_csv(out / "disagreements.csv", pd.DataFrame(rows))
        console.print(f"wrote {out / 'score.json'} and {out / 'disagreements.csv'}")
