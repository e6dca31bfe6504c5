"""One figure per film in the paper's Fig. 3 arrangement, drawn with matplotlib.

Left to right: the film; the heatmap of each region the model predicts abnormal; the report with
the labels read from it and the model's probability for every region. Chinese text needs a CJK
font: the first one fontconfig knows (``fc-list :lang=zh``) is used; without one the panel names
regions in English and leaves the report's text to the HTML report, saying so on the panel.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import textwrap
from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.font_manager import FontProperties

from cxr_regions.explain.heatmaps import to_unit_float
from cxr_regions.explain.overlays import overlay
from cxr_regions.regions import BY_KEY


@functools.lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """The file of a font with Chinese glyphs, from fontconfig, or None where there is none."""
    if shutil.which("fc-list") is None:
        return None
    try:
        listing = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(line.strip().rstrip(":") for line in listing.splitlines() if line.strip())
    return files[0] if files else None


def region_name(key: str, chinese: bool) -> str:
    """A label's display name: ``heart 心影`` where Chinese renders, else the key alone."""
    region = BY_KEY.get(key)
    if region is None:
        return key
    return f"{region.key} {region.zh}" if chinese else region.key


def panel_png(
    film: np.ndarray,
    heatmaps: Mapping[str, np.ndarray],
    probabilities: Mapping[str, float],
    predicted: Sequence[str],
    report: str | None = None,
    report_labels: Mapping[str, str] | None = None,
    title: str = "",
    max_heatmaps: int = 5,
) -> bytes:
    """The figure as PNG bytes. ``predicted`` lists the regions (keys) shown as heatmaps."""
    matplotlib.use("Agg", force=False)

    font_path = cjk_font_path()
    font = FontProperties(fname=font_path) if font_path else FontProperties()
    chinese = font_path is not None
    shown = [k for k in predicted if k in heatmaps][:max_heatmaps]
    columns = 2 + max(len(shown), 1)
    fig, axes = plt.subplots(
        1,
        columns,
        figsize=(2.8 * (columns - 1) + 4.2, 3.6),
        gridspec_kw={"width_ratios": [1] * (columns - 1) + [1.6]},
    )
    try:
        axes[0].imshow(to_unit_float(film), cmap="gray", vmin=0.0, vmax=1.0)
        axes[0].set_title("film", fontsize=9)
        if shown:
            for ax, key in zip(axes[1:-1], shown, strict=True):
                ax.imshow(overlay(film, heatmaps[key]))
                ax.set_title(
                    f"{region_name(key, chinese)}  p={probabilities[key]:.2f}",
                    fontsize=9,
                    fontproperties=font,
                )
        else:
            axes[1].text(0.5, 0.5, "no region\npredicted abnormal", ha="center", va="center", fontsize=9)
        for ax in axes[:-1]:
            ax.set_xticks([])
            ax.set_yticks([])
        _draw_report(axes[-1], probabilities, predicted, report, report_labels, font, chinese)
        if title:
            fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110)
        return buffer.getvalue()
    finally:
        plt.close(fig)


def _draw_report(ax, probabilities, predicted, report, report_labels, font, chinese) -> None:
    """The right-hand column: the report's text above a table of labels and probabilities."""
    ax.axis("off")
    if report and chinese:
        text = "\n".join(textwrap.wrap(report, width=20)[:9])
    elif report:
        text = "report text: see the HTML report\n(no CJK font found for this figure)"
    else:
        text = "no report given"
    ax.text(0.0, 1.0, text, va="top", ha="left", fontsize=8, fontproperties=font, transform=ax.transAxes)
    header = ["region", "report", "p", "model"] if report_labels is not None else ["region", "p", "model"]
    rows = []
    for key, p in probabilities.items():
        row = [region_name(key, chinese)]
        if report_labels is not None:
            row.append(report_labels.get(key, "-"))
        row += [f"{p:.2f}", "abnormal" if key in predicted else "normal"]
        rows.append(row)
    widths = [0.4, 0.18, 0.18, 0.24] if report_labels is not None else [0.46, 0.22, 0.32]
    box = [0.0, 0.0, 1.0, 0.46]
    table = ax.table(cellText=rows, colLabels=header, colWidths=widths, loc="bottom", bbox=box)
    table.auto_set_font_size(False)
    for (r, _c), cell in table.get_celld().items():
        cell.get_text().set_fontproperties(font)
        cell.get_text().set_fontsize(7.5)
        if r > 0 and rows[r - 1][-1] == "abnormal":
            cell.set_facecolor("#fde0dc")
