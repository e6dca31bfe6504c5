"""Every progress bar of the package, in one look: ``description  bar  done/total  elapsed  remaining``.

Bars go to standard error (standard output stays for results) and are shown only where asked for
(``enabled``, the stages' ``progress`` flag) and where standard error is a terminal: a run piped to a
log or captured by a test prints no bar.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

T = TypeVar("T")
DESCRIPTION_WIDTH = 18


def progress_bar(enabled: bool = True, *, unit: Literal["items", "bytes"] = "items") -> Progress:
    """A Rich :class:`~rich.progress.Progress` in the package's look; add tasks with ``add_task``.

    ``unit="bytes"`` shows done/total as sizes (for reading files) instead of counts.
    """
    console = Console(stderr=True)
    return Progress(
        TextColumn(f"{{task.description:<{DESCRIPTION_WIDTH}}}"),
        BarColumn(),
        DownloadColumn() if unit == "bytes" else MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not (enabled and console.is_terminal),
    )


def track(
    items: Iterable[T], description: str, *, total: int | None = None, enabled: bool = True
) -> Iterator[T]:
    """Yield ``items`` while showing one bar (``total`` defaults to ``len(items)`` where it has one)."""
    if not enabled:
        yield from items
        return
    with progress_bar(enabled) as bar:
        yield from bar.track(items, total=total, description=description)
