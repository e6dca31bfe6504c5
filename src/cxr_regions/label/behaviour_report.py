"""``label-eval --behaviour``: run the generated behavioural suite and print (and write) its tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr_regions.label.behaviour import generate
from cxr_regions.label.behaviour_score import failure_table, region_table, run


def print_behaviour(
    seed: int = 0, vocabulary: Path | None = None, markings_abnormal: bool = False, out: Path | None = None
) -> pd.DataFrame:
    """Generate the suite with ``seed``, label it, print the family and region tables; returns the first."""
    from rich.console import Console
    from rich.table import Table

    from cxr_regions.fileio import write_csv
    from cxr_regions.label.bilingual import make_labeler

    cases = generate(seed)
    outcomes = run(cases, make_labeler("zh", vocabulary, markings_abnormal=markings_abnormal))
    table, regions = failure_table(outcomes), region_table(outcomes)
    console = Console()
    if console.width < 120:  # the table is wide: never wrap its rows, even when piped
        console = Console(width=120)
    shown = Table(title=f"behavioural suite (seed {seed}): {len(cases):,} cases, failure rate per family")
    for column in ("kind", "family", "cases", "failure rate", "tuned templates", "held-out templates"):
        shown.add_column(column, justify="left" if column in ("kind", "family") else "right")
    for row in table.itertuples(index=False):
        shown.add_row(
            row.kind, row.family, f"{row.cases:,}", f"{row.failure_rate:.2%}",
            f"{row.tuned:.2%} ({row.tuned_cases:,})", f"{row.held_out:.2%} ({row.held_out_cases:,})",
        )  # fmt: skip
    console.print(shown)
    per_region = Table(title="share of cases with the region's value wrong")
    for column in regions.columns:
        per_region.add_column(column, justify="left" if column == "kind" else "right")
    for row in regions.itertuples(index=False):
        per_region.add_row(row[0], f"{row[1]:,}", *(f"{v:.2%}" for v in row[2:]))
    console.print(per_region)
    if out is not None:
        write_csv(out / "behaviour.csv", table)
        write_csv(out / "behaviour_regions.csv", regions)
        failures = pd.DataFrame(
            [
                {
                    "family": o.case.family,
                    "held_out": o.case.held_out,
                    "template": o.case.template,
                    "text": o.case.text,
                    "expected": o.case.expected,
                    "got": o.got,
                    "unread": o.unread,
                    "failure": o.failure,
                }
                for o in outcomes
                if o.failure
            ]
        )
        write_csv(out / "behaviour_failures.csv", failures)
        console.print(f"wrote {out / 'behaviour.csv'}, behaviour_regions.csv and behaviour_failures.csv")
    return table
