"""Table 1 (normal films; per region abnormal, overlap, overlap rate) on a constructed set."""

from __future__ import annotations

import pandas as pd
import pytest

from cxr_regions.label import table1, table1_markdown
from cxr_regions.regions import REGION_KEYS


def _frame(strings: list[str], status: list[str] | None = None) -> pd.DataFrame:
    rows = [dict(zip(REGION_KEYS, s, strict=True)) for s in strings]
    frame = pd.DataFrame(rows)
    if status is not None:
        frame["status"] = status
    return frame


def test_table1_counts_overlap_and_rates() -> None:
    # 7 films: 3 normal; lungs alone; lungs+heart; lungs(u)+aorta+diaphragm; thorax alone
    frame = _frame(["00000", "00000", "00000", "01000", "01010", "0u101", "10000"])
    table = table1(frame).set_index("label")
    assert table.loc["normal", "films"] == 3
    assert table.loc["lungs", "films"] == 3  # u counts as abnormal
    assert table.loc["lungs", "overlap"] == 2
    assert table.loc["lungs", "overlap_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert table.loc["thorax", "films"] == 1 and table.loc["thorax", "overlap"] == 0
    assert table.loc["thorax", "overlap_rate"] == 0
    assert table.loc["aorta", "overlap_rate"] == 1
    assert table.loc["heart", "films"] == 1 and table.loc["heart", "overlap"] == 1
    assert table.loc["total", "films"] == 7
    assert table.loc["total", "overlap"] == 2  # films abnormal in two regions or more
    assert table.loc["total", "overlap_rate"] == pytest.approx(2 / 4, abs=1e-4)
    assert list(table.index) == ["normal", *REGION_KEYS, "total"]


def test_reports_without_text_are_left_out_and_binary_frames_work() -> None:
    frame = _frame(["00000", "00001", "00000"], status=["ok", "ok", "empty_text"])
    table = table1(frame).set_index("label")
    assert table.loc["normal", "films"] == 1 and table.loc["total", "films"] == 2
    manifest = pd.DataFrame({k: [0, 1, 1] for k in REGION_KEYS})  # a dataset manifest: 0/1 ints
    assert table1(manifest).set_index("label").loc["normal", "films"] == 1
    markdown = table1_markdown(table1(frame), skipped=1)
    assert "| diaphragm | 膈面膈角 | 1 | 0 | 0.0% |" in markdown
    assert "1 report(s) without text" in markdown


def test_missing_region_column_is_named() -> None:
    with pytest.raises(KeyError, match="heart"):
        table1(pd.DataFrame({k: ["0"] for k in REGION_KEYS if k != "heart"}))
