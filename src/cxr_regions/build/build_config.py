"""How a dataset is built: :class:`BuildConfig` (saved as ``build.yaml`` and inside ``dataset.json``),
whose fields are ``cxr-regions build``'s options. Light on imports: ``--help`` reads it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from cxr_regions.errors import UserError
from cxr_regions.ingest.resize import RESIZE_MODES
from cxr_regions.options import ENGINE_HELP, SCHEDULER_HELP, cli, comma_list

PROTOCOLS = ("clean", "paper")
PAPER_FILMS = 1877
PAPER_EXPANDED = 8632
PAPER_EXPANSION = PAPER_EXPANDED / PAPER_FILMS
"""The paper's offline augmentation: 1,877 films expanded to 8,632."""


def parse_fractions(text: str | Sequence[float]) -> tuple[float, float, float]:
    """``"0.8,0.1,0.1"`` (or a sequence) -> three fractions summing to 1 (train, val, test)."""
    try:
        values = [float(v) for v in (text.split(",") if isinstance(text, str) else text)]
    except ValueError:
        raise UserError(f"--split must be three numbers like 0.8,0.1,0.1, got {text!r}") from None
    if len(values) != 3 or any(v < 0 for v in values) or values[0] <= 0:
        raise UserError(f"--split must be three non-negative fractions with train > 0, got {text!r}")
    total = sum(values)
    if abs(total - 1) > 1e-6:
        raise UserError(f"--split fractions must sum to 1, got {text!r} (sum {total:g})")
    return (values[0], values[1], values[2])


def default_workers() -> int:
    """Threads reading and resizing PNGs: up to four, never more than the machine's cores."""
    return min(4, os.cpu_count() or 1)


@dataclass
class BuildConfig:
    """How a dataset is built (saved as ``build.yaml`` and inside ``dataset.json``)."""

    join: str = field(
        default="accession",
        metadata=cli(
            "Join films to reports by `accession` (images.accession_number = labels.report_id) "
            "or by `image_id` (images.image_id = labels.report_id)."
        ),
    )
    split: tuple[float, float, float] = field(
        default=(0.8, 0.1, 0.1),
        metadata=cli("Train,val,test fractions.", type=str, parse=parse_fractions, show="0.8,0.1,0.1"),
    )
    seed: int = field(default=0, metadata=cli("Seed of the split and of the paper's augmentation."))
    min_share: float = field(
        default=0.2,
        metadata=cli(
            "Repeat training films of any region under this share of the epoch (thorax and "
            "diaphragm in the paper's data) until it reaches it; 0 turns oversampling off."
        ),
    )
    protocol: str = field(
        default="clean",
        metadata=cli(
            "`clean`: split by patient, then oversample/augment training only. `paper`: the "
            "paper's leaking order (duplicate, augment offline x4.6, then split by image) — only to "
            "measure how much it inflates test results."
        ),
    )
    size: int = field(default=256, metadata=cli("Side of the packed square films, in pixels."))
    resize: str = field(
        default="pad", metadata=cli("Fit non-square films by `pad` (keep aspect, black bars) or `stretch`.")
    )
    workers: int = field(
        default_factory=default_workers,
        metadata=cli("Threads reading and resizing PNGs.", default_text="4, or the CPU cores where fewer"),
    )
    engine: str = field(default="local", metadata=cli(ENGINE_HELP))
    scheduler: str | None = field(default=None, metadata=cli(SCHEDULER_HELP))
    views: tuple[str, ...] = field(
        default=(),
        metadata=cli(
            "Keep only these views (comma-separated, e.g. PA,AP); default all.",
            type=str,
            parse=comma_list,
            show="",
        ),
    )
    min_positives: int = 10
    paper_expansion: float = PAPER_EXPANSION
    paper_crop_fraction: float = 224 / 256
    progress: bool = True

    def __post_init__(self) -> None:
        self.split = parse_fractions(self.split)
        if self.protocol not in PROTOCOLS:
            raise UserError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}")
        if self.resize not in RESIZE_MODES:
            raise UserError(f"--resize must be one of {', '.join(RESIZE_MODES)}, got {self.resize!r}")
        if not 0 <= self.min_share < 1:
            raise UserError(f"--min-share must be in [0, 1), got {self.min_share}")
        if self.size < 8:
            raise UserError(f"--size must be at least 8 pixels, got {self.size}")
        if self.paper_expansion < 1:
            raise UserError(f"the paper expansion factor must be ≥ 1, got {self.paper_expansion}")
