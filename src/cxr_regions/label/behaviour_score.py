"""Running the behavioural suite (:mod:`cxr_regions.label.behaviour`) and its failure-rate table.

A case fails (1) when any of its five values differs from the expected ones. A clause left unread
fails an invariance, directional or functionality case that got its values right, and counts half
(0.5) in a typo case: better than a confident wrong label, worse than the right one. In a typo case a
wrong label with the clause flagged unread also counts half: the hospital's review sees it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from cxr_regions.label.behaviour import Case
from cxr_regions.regions import REGION_KEYS

TABLE_COLUMNS = (
    "kind",
    "family",
    "cases",
    "failure_rate",
    "tuned_cases",
    "tuned",
    "held_out_cases",
    "held_out",
)


@dataclass(frozen=True)
class Outcome:
    """One case run: what the labeler said and how much it fails (0, 0.5 or 1)."""

    case: Case
    got: str
    unread: bool
    failure: float


def run(cases: Iterable[Case], labeler: object) -> list[Outcome]:
    """Label every case and score it."""
    out = []
    label = labeler.label  # type: ignore[attr-defined]
    for case in cases:
        result = label(case.text)
        got = "".join(result.values[k] for k in REGION_KEYS)
        unread = bool(result.unread)
        if case.kind == "typo":
            failure = 0.5 if unread else (0.0 if got == case.expected else 1.0)
        else:
            failure = 0.0 if got == case.expected and not unread else 1.0
        out.append(Outcome(case, got, unread, failure))
    return out


def _rate(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else float("nan")


def failure_table(outcomes: list[Outcome]) -> pd.DataFrame:
    """Per family: cases, failure rate, and the rate on tuned and on held-out templates."""
    frame = pd.DataFrame(
        {
            "kind": [o.case.kind for o in outcomes],
            "family": [o.case.family for o in outcomes],
            "held_out": [o.case.held_out for o in outcomes],
            "failure": [o.failure for o in outcomes],
        }
    )
    rows = []
    for (kind, family), group in frame.groupby(["kind", "family"], sort=False):
        tuned, held = group[~group["held_out"]], group[group["held_out"]]
        rows.append(
            {
                "kind": kind,
                "family": family,
                "cases": len(group),
                "failure_rate": _rate(group["failure"]),
                "tuned_cases": len(tuned),
                "tuned": _rate(tuned["failure"]),
                "held_out_cases": len(held),
                "held_out": _rate(held["failure"]),
            }
        )
    order = {"invariance": 0, "directional": 1, "functionality": 2, "typo": 3}
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    return table.sort_values(["kind", "family"], key=lambda c: c.map(order) if c.name == "kind" else c)


def region_table(outcomes: list[Outcome]) -> pd.DataFrame:
    """Per kind of family and region: the share of cases whose value of that region is wrong."""
    rows = []
    kinds = sorted({o.case.kind for o in outcomes})
    for kind in kinds:
        chosen = [o for o in outcomes if o.case.kind == kind]
        row: dict[str, object] = {"kind": kind, "cases": len(chosen)}
        for i, key in enumerate(REGION_KEYS):
            row[key] = sum(o.got[i] != o.case.expected[i] for o in chosen) / len(chosen) if chosen else 0.0
        rows.append(row)
    return pd.DataFrame(rows, columns=["kind", "cases", *REGION_KEYS])


def markdown(table: pd.DataFrame) -> str:
    """The family table as Markdown (rates as percentages)."""
    lines = [
        "| kind | family | cases | failure rate | tuned templates | held-out templates |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in table.itertuples(index=False):
        lines.append(
            f"| {row.kind} | `{row.family}` | {row.cases:,} | {row.failure_rate:.2%} | "
            f"{row.tuned:.2%} ({row.tuned_cases:,}) | {row.held_out:.2%} ({row.held_out_cases:,}) |"
        )
    return "\n".join(lines)
