"""Table 2 in the paper's layout: initialisation blocks × networks, five regions and the mean.

Each block ends with a row averaging its evaluated networks. With ``paper=True`` every column has
the published value beside ours. Cells that could not run (e.g. weights missing) stay in the table
with their reason, so the grid's coverage is visible.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxr_regions.contracts.evaluation_files import EvaluationInfo
from cxr_regions.evaluation.paper_table2 import COLUMNS, arch_name, init_name, paper_auc
from cxr_regions.fileio import atomic_path, write_csv, write_text
from cxr_regions.regions import BY_KEY

BLOCK_MEAN = "block mean"


@dataclass
class CellOutcome:
    """One grid cell: its AUCs (column -> (auc, ci_low, ci_high)) once evaluated, else why not."""

    init: str
    arch: str
    status: str  # "done" | "skipped" | "pending"
    note: str = ""
    auc: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    positives: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_evaluation(cls, init: str, arch: str, evaluation: EvaluationInfo) -> CellOutcome:
        """A done cell from its ``evaluation.json``: Table 2's columns (regions, mean)."""

        def number(value: float | None) -> float:
            return float("nan") if value is None else float(value)

        auc = {
            col: (number(r.auc), number(r.ci_low), number(r.ci_high))
            for col, r in evaluation.auc.items()
            if col in COLUMNS
        }
        positives = {col: r.n_pos for col, r in evaluation.auc.items() if col in COLUMNS}
        return cls(init, arch, "done", auc=auc, positives=positives)


def table2_frame(cells: Sequence[CellOutcome], paper: bool = False) -> pd.DataFrame:
    """One row per cell plus a block-mean row per initialisation (CSV layout)."""
    rows: list[dict[str, Any]] = []
    inits = list(dict.fromkeys(c.init for c in cells))
    for init in inits:
        block = [c for c in cells if c.init == init]
        for cell in block:
            row: dict[str, Any] = {
                "init": init,
                "network": cell.arch,
                "status": cell.status,
                "note": cell.note,
            }
            for col in COLUMNS:
                auc, low, high = cell.auc.get(col, (math.nan, math.nan, math.nan))
                row.update({col: auc, f"{col}_ci_low": low, f"{col}_ci_high": high})
                if paper:
                    published = paper_auc(init, cell.arch)
                    row[f"{col}_paper"] = published[col] if published else math.nan
            rows.append(row)
        done = [r for r in rows[-len(block) :] if r["status"] == "done"]
        mean_row: dict[str, Any] = {
            "init": init,
            "network": BLOCK_MEAN,
            "status": f"{len(done)}/{len(block)} done",
        }
        mean_row["note"] = ""
        for col in COLUMNS:
            mean_row[col] = _nanmean([r[col] for r in done])
            mean_row[f"{col}_ci_low"] = mean_row[f"{col}_ci_high"] = math.nan
            if paper:
                mean_row[f"{col}_paper"] = _nanmean([r[f"{col}_paper"] for r in rows[-len(block) :]])
        rows.append(mean_row)
    return pd.DataFrame(rows)


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(finite)) if finite else math.nan


def column_title(col: str) -> str:
    """``Thorax 胸廓``-style header for a region column, ``Mean`` for the mean."""
    if col == "mean":
        return "Mean"
    return f"{col.capitalize()} {BY_KEY[col].zh}"


def _fmt(value: float, low: float = math.nan, high: float = math.nan) -> str:
    if value is None or math.isnan(value):
        return "—"
    if math.isnan(low):
        return f"{value:.3f}"
    return f"{value:.3f} ({low:.2f}–{high:.2f})"


def table2_markdown(
    frame: pd.DataFrame,
    paper: bool = False,
    title: str | None = None,
    positives: Mapping[str, int] | None = None,
) -> str:
    """Markdown of :func:`table2_frame`: AUC (95% CI) per cell, skipped cells with their reason, and
    (``positives``) the abnormal test films each column rests on, flagging fewer than 10."""
    header = ["Initialisation", "Network"]
    for col in COLUMNS:
        header.append(column_title(col))
        if paper:
            header.append("paper")
    lines = [f"## {title}", ""] if title else []
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    notes: list[str] = []
    for _, row in frame.iterrows():
        is_mean = row["network"] == BLOCK_MEAN
        network = f"*{BLOCK_MEAN}*" if is_mean else arch_name(row["network"])
        cells = [init_name(row["init"]), network]
        if not is_mean and row["status"] != "done":
            notes.append(f"{init_name(row['init'])} / {arch_name(row['network'])}: {row['note']}")
            cells.append(f"*{row['status']}*")
            cells += [""] * (len(header) - 3)
            if paper:  # keep the published values visible for cells we could not run
                for i, col in enumerate(COLUMNS):
                    cells[3 + 2 * i] = _fmt(row[f"{col}_paper"])
        else:
            for col in COLUMNS:
                cells.append(_fmt(row[col], row[f"{col}_ci_low"], row[f"{col}_ci_high"]))
                if paper:
                    cells.append(_fmt(row[f"{col}_paper"]))
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "AUC on the test split with a 95% patient-bootstrap confidence interval; "
        "— : undefined (one class only) or not evaluated.",
    ]
    if positives:
        counts = ", ".join(
            f"{column_title(c)} {n}" + (" (unreliable: < 10)" if c != "mean" and n < 10 else "")
            for c, n in positives.items()
        )
        lines.append(f"Abnormal test films (the mean: abnormal in any region): {counts}.")
    if paper:
        lines.append("`paper`: the value published in Huang, Fang & Gu (2020), Table 2 (no interval given).")
    if notes:
        lines += ["", "Cells not evaluated:", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def table2_heatmap(frame: pd.DataFrame, path: Path, paper: bool = False) -> Path:
    """A PNG heatmap of the table (ours, and the paper's beside it with ``paper=True``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [
        f"{init_name(r.init)} · {'mean' if r.network == BLOCK_MEAN else arch_name(r.network)}"
        for r in frame.itertuples()
    ]
    statuses = [
        "n/a" if r.network == BLOCK_MEAN else "undefined" if r.status == "done" else r.status
        for r in frame.itertuples()
    ]
    panels = [("ours", frame[list(COLUMNS)].to_numpy(dtype=float))]
    if paper:
        panels.append(("paper", frame[[f"{c}_paper" for c in COLUMNS]].to_numpy(dtype=float)))
    size = (1.1 * len(COLUMNS) * len(panels) + 3, 0.42 * len(labels) + 1.6)
    fig, axes = plt.subplots(1, len(panels), figsize=size, squeeze=False)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#dddddd")
    for ax, (name, values) in zip(axes[0], panels, strict=True):
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0.5, vmax=1.0, aspect="auto")
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                if math.isnan(v):
                    text, color = (statuses[i] if name == "ours" else "n/a"), "#555555"
                else:
                    text, color = f"{v:.3f}", ("black" if v > 0.8 else "white")
                ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
        ax.set_xticks(range(len(COLUMNS)), list(COLUMNS), rotation=30)
        ax.set_yticks(range(len(labels)), labels if ax is axes[0][0] else [""] * len(labels))
        ax.set_title(f"Table 2, {name} (ROC AUC)")
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, label="AUC")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def write_table2(
    cells: Sequence[CellOutcome], out: Path, paper: bool = False, title: str | None = None
) -> dict[str, Path]:
    """Write ``table2.csv``, ``table2.md`` and ``table2.png`` into ``out``."""
    frame = table2_frame(cells, paper=paper)
    positives = next((c.positives for c in cells if c.positives), None)  # every cell: the same test films
    return {
        "csv": write_csv(out / "table2.csv", frame, float_format="%.4f"),
        "md": write_text(
            out / "table2.md", table2_markdown(frame, paper=paper, title=title, positives=positives)
        ),
        "png": table2_heatmap(frame, out / "table2.png", paper=paper),
    }
