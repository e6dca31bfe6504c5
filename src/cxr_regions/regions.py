"""The five anatomical regions of the method, the three label values, and the one rule that turns a
probability into a call.

This module is the one place where region keys, names and order are spelled out; everything
else iterates over ``REGIONS`` or ``REGION_KEYS``. It is also the one place that says when a model's
probability counts as abnormal (:func:`call`: at or above the threshold) and which threshold applies
where none was chosen (``DEFAULT_THRESHOLD``); evaluate, explain, report, the PACS results and the
reading room all call through it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


@dataclass(frozen=True)
class Region:
    """One region: its key, its names, its position in a label string such as ``01101``, and its
    body structure in SNOMED CT (code, meaning), as DICOM structured reports name it."""

    key: str
    zh: str
    en: str
    index: int
    snomed: tuple[str, str] = ("", "")


REGIONS: tuple[Region, ...] = (
    Region("thorax", "胸廓", "thorax", 0, ("816094009", "Thorax")),
    Region("lungs", "两肺", "lungs", 1, ("39607008", "Lung")),
    Region("aorta", "主动脉", "aorta", 2, ("15825003", "Aorta")),
    Region("heart", "心影", "heart", 3, ("80891009", "Heart")),
    Region("diaphragm", "膈面膈角", "diaphragm / costophrenic angles", 4, ("5798000", "Diaphragm")),
)
REGION_KEYS: tuple[str, ...] = tuple(r.key for r in REGIONS)
NUM_REGIONS = len(REGIONS)
BY_KEY: dict[str, Region] = {r.key: r for r in REGIONS}

ABNORMAL = "1"
UNCERTAIN = "u"
NORMAL = "0"
VALUES: tuple[str, ...] = (ABNORMAL, UNCERTAIN, NORMAL)
_RANK = {NORMAL: 0, UNCERTAIN: 1, ABNORMAL: 2}


def region(key: str) -> Region:
    """Look a region up by key, with an error that lists the valid keys."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown region {key!r}; the regions are {', '.join(REGION_KEYS)}") from None


def label_title(name: str) -> str:
    """A region key with its Chinese name (``heart 心影``), for tables and figures; other label names
    (e.g. ChestX-ray14 findings) as they are."""
    found = BY_KEY.get(name)
    return f"{found.key} {found.zh}" if found else name


def parse_regions(keys: Iterable[str] | None) -> tuple[str, ...]:
    """Validate a user's list of region keys (None or empty means all), keeping the canonical order."""
    if not keys:
        return REGION_KEYS
    wanted = {region(k.strip()).key for k in keys if k.strip()}
    return tuple(k for k in REGION_KEYS if k in wanted)


def strongest(values: Iterable[str]) -> str:
    """Combine several statements about one region: ``1`` beats ``u`` beats ``0``."""
    best = NORMAL
    for v in values:
        if v not in _RANK:
            raise ValueError(f"label value must be one of {VALUES}, got {v!r}")
        if _RANK[v] > _RANK[best]:
            best = v
    return best


def to_binary(value: str) -> int:
    """The method's binary reading: ``u`` counts as abnormal."""
    if value not in _RANK:
        raise ValueError(f"label value must be one of {VALUES}, got {value!r}")
    return 0 if value == NORMAL else 1


def label_string(values: Mapping[str, str]) -> str:
    """Five characters in region order, ``u`` counted as ``1`` (the paper's ``01101`` form)."""
    return "".join(str(to_binary(values.get(k, NORMAL))) for k in REGION_KEYS)


# --- calls: probability -> abnormal ---------------------------------------------------------------

DEFAULT_THRESHOLD = 0.5
"""The operating threshold of a label that has none (no evaluation, or a validation split that could
not choose one)."""


@overload
def call(p: float, threshold: float) -> bool: ...
@overload
def call(p: NDArray[Any], threshold: float) -> NDArray[np.bool_]: ...
@overload
def call(p: Any, threshold: float) -> Any: ...
def call(p: Any, threshold: float) -> Any:
    """The one rule: a probability is called abnormal when it is at or above its threshold (the
    threshold itself counts). Elementwise on a NumPy array of scores; on a SQL column expression it
    is the same condition for the database (the reading room's worklist filter)."""
    return p >= threshold


def threshold_or_default(value: float | None) -> float:
    """A threshold as chosen, or ``DEFAULT_THRESHOLD`` where none was (``None`` or NaN)."""
    if value is None or math.isnan(float(value)):
        return DEFAULT_THRESHOLD
    return float(value)


def operating_thresholds(
    given: Mapping[str, float | None] | float | None, names: Iterable[str] = REGION_KEYS
) -> dict[str, float]:
    """One threshold per name: one number for all, or each name's from a mapping (e.g. evaluate's
    ``thresholds.csv``); a name without one (missing, ``None`` or NaN) gets ``DEFAULT_THRESHOLD``."""
    if given is None or isinstance(given, (int, float)):
        return dict.fromkeys(names, threshold_or_default(given))
    return {n: threshold_or_default(given.get(n)) for n in names}


def calls(probabilities: Mapping[str, float], thresholds: Mapping[str, float]) -> dict[str, bool]:
    """Per name of ``probabilities`` (in their order): called abnormal by :func:`call`; a name
    without a threshold is called at ``DEFAULT_THRESHOLD``."""
    return {
        k: bool(call(float(p), threshold_or_default(thresholds.get(k)))) for k, p in probabilities.items()
    }


def called(probabilities: Mapping[str, float], thresholds: Mapping[str, float]) -> list[str]:
    """The names :func:`calls` calls abnormal, in the order of ``probabilities``."""
    return [k for k, abnormal in calls(probabilities, thresholds).items() if abnormal]
