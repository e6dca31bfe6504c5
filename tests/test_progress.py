"""The one progress helper: the package's look, shown only where asked for and on a terminal."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from cxr_regions.progress import progress_bar, track


def test_track_yields_every_item_in_order_with_or_without_a_bar():
    assert list(track(iter(range(5)), "counting", total=5, enabled=False)) == list(range(5))
    assert list(track([3, 1, 2], "counting")) == [3, 1, 2]


def test_a_bar_shows_on_a_terminal_only_when_enabled(monkeypatch):
    monkeypatch.setenv("TTY_COMPATIBLE", "0")  # as under a pipe or a test runner
    assert progress_bar(True).disable
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert not progress_bar(True).disable
    assert progress_bar(False).disable


def test_one_look_description_bar_done_elapsed_remaining():
    kinds = [type(c) for c in progress_bar(False).columns[1:]]
    assert kinds == [BarColumn, MofNCompleteColumn, TimeElapsedColumn, TimeRemainingColumn]
    assert type(progress_bar(False, unit="bytes").columns[2]) is DownloadColumn
    assert progress_bar(True).console.stderr
