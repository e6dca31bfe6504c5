"""What shapes an ingest: :class:`IngestConfig`, its windows, the journal's name and errors.csv's statuses.

The tables it writes and the folder's layout are contracts (:mod:`cxr_regions.contracts.images`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxr_regions.errors import UserError
from cxr_regions.ingest.deid import salt_digest
from cxr_regions.ingest.engine import ENGINES
from cxr_regions.ingest.resize import RESIZE_MODES
from cxr_regions.ingest.selection import DEFAULT_MODALITIES
from cxr_regions.options import ENGINE_HELP, SCHEDULER_HELP, cli

JOURNAL = "journal.jsonl"
ERROR_STATUSES = (
    "unreadable",
    "not_dicom",
    "decode_error",
    "no_pixels",
    "skipped_modality",
    "skipped_body_part",
    "skipped_lateral",
)
WINDOWS = ("auto", "percentile")
"""auto: the file's VOI LUT or window where it has one, else percentiles; percentile: always."""
DEFAULT_PERCENTILES = (0.5, 99.5)
"""The percentile window's low and high percentiles of the film's values."""
DECODES = ("auto", "reduced", "exact")
"""auto: reduced decode only where it stays within 0.5 grey levels mean and 3 max of the full decode
(baseline JPEG with its own window); reduced: JPEG 2000 too (mean 0.1-0.3, but up to 12-15 grey
levels at sharp edges, docs/results.md); exact: always the full decode."""
_JOURNAL_VERSION = 1


@dataclass
class IngestConfig:
    """Settings of one ingest; those that shape the PNGs must stay the same across resumed runs."""

    size: int = field(default=256, metadata=cli("Side of the square output PNGs, in pixels."))
    bit_depth: int = field(default=8, metadata=cli("8 or 16 bits per pixel in the PNGs."))
    resize: str = field(default="pad", metadata=cli("pad: keep the aspect ratio, pad black; stretch."))
    workers: int = field(
        default=1,
        metadata=cli("Worker processes decoding in parallel (with --engine dask: the local cluster's)."),
    )
    salt_file: Path | None = field(
        default=None,
        metadata=cli("Salt shared by all exports of a hospital (default: OUT/salt.txt, made once)."),
    )
    keep_lateral: bool = field(default=False, metadata=cli("Also keep lateral views."))
    keep_full: bool = field(
        default=False, metadata=cli("Also write the full-resolution lossless PNG to OUT/full/.")
    )
    window: str = field(
        default="auto",
        metadata=cli("auto: the file's VOI LUT/window, else percentiles; percentile: always."),
    )
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES
    modalities: tuple[str, ...] = DEFAULT_MODALITIES
    decode: str = field(
        default="auto",
        metadata=cli(
            "auto: decode baseline JPEG only at the resolution the output keeps, where that is within "
            "3 grey levels of the full decode; reduced: JPEG 2000 too (about 4x faster, up to 15 grey "
            "levels off at sharp edges); exact: always in full."
        ),
    )
    engine: str = field(default="local", metadata=cli(ENGINE_HELP))
    scheduler: str | None = field(default=None, metadata=cli(SCHEDULER_HELP))

    @property
    def reduce_for(self) -> int | None:
        """The output size a reduced decode may aim at; ``None``: decode in full (exact, or ``keep_full``)."""
        return self.size if self.decode != "exact" and not self.keep_full else None

    @property
    def reduce_jpeg2000(self) -> bool:
        """Whether JPEG 2000 films may be decoded at a lower resolution level (``--decode reduced``)."""
        return self.decode == "reduced"

    def validate(self) -> None:
        """Raise :class:`UserError` for a value that cannot work."""
        problems = []
        if self.size < 8:
            problems.append(f"--size must be at least 8, got {self.size}")
        if self.bit_depth not in (8, 16):
            problems.append(f"--bit-depth must be 8 or 16, got {self.bit_depth}")
        if self.resize not in RESIZE_MODES:
            problems.append(f"--resize must be one of {', '.join(RESIZE_MODES)}, got {self.resize!r}")
        if self.workers < 1:
            problems.append(f"--workers must be at least 1, got {self.workers}")
        if self.window not in WINDOWS:
            problems.append(f"--window must be one of {', '.join(WINDOWS)}, got {self.window!r}")
        if self.decode not in DECODES:
            problems.append(f"--decode must be one of {', '.join(DECODES)}, got {self.decode!r}")
        if self.engine not in ENGINES:
            problems.append(f"--engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.scheduler and self.engine != "dask":
            problems.append("--scheduler needs --engine dask")
        lo, hi = self.percentiles
        if not 0 <= lo < hi <= 100:
            problems.append(f"percentiles must satisfy 0 <= low < high <= 100, got {self.percentiles}")
        if problems:
            raise UserError("; ".join(problems))

    def fingerprint(self, salt: bytes) -> dict[str, Any]:
        """Everything that shapes the output files: a resumed run must match it."""
        return {
            "version": _JOURNAL_VERSION,
            "size": self.size,
            "bit_depth": self.bit_depth,
            "resize": self.resize,
            "keep_full": self.keep_full,
            "window": self.window,
            "percentiles": [float(p) for p in self.percentiles],
            "decode": "exact" if self.reduce_for is None else self.decode,
            "salt": salt_digest(salt),
        }
