"""Ground truth of the phantom: how often each region is abnormal, and drawing one film's values."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cxr_regions.errors import UserError
from cxr_regions.regions import ABNORMAL, NORMAL, REGION_KEYS, UNCERTAIN

# Per-region share of abnormal films, in REGION_KEYS order, chosen to resemble the paper's Table 1:
# about 35% of films abnormal, lungs and aorta common, thorax and diaphragm rare.
_PAPER_RATES = (0.03, 0.16, 0.12, 0.06, 0.05)
PRESETS: dict[str, dict[str, float]] = {
    "paper": dict(zip(REGION_KEYS, _PAPER_RATES, strict=True)),
    "balanced": dict.fromkeys(REGION_KEYS, 0.3),
}


def _paper_rates() -> dict[str, float]:
    return dict(PRESETS["paper"])


@dataclass(frozen=True)
class Prevalence:
    """Probability that each region is abnormal (drawn independently per region), and the share of
    abnormal regions whose report hedges the finding (ground truth ``u`` instead of ``1``)."""

    rates: dict[str, float] = field(default_factory=_paper_rates)
    uncertain: float = 0.12

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(REGION_KEYS)
        if unknown:
            raise UserError(
                f"unknown region(s) in prevalence: {sorted(unknown)}; use {', '.join(REGION_KEYS)}"
            )
        for key, p in {**self.rates, "uncertain": self.uncertain}.items():
            if not 0.0 <= p <= 1.0:
                raise UserError(f"prevalence of {key} must lie between 0 and 1, got {p}")
        missing = {k: 0.0 for k in REGION_KEYS if k not in self.rates}
        object.__setattr__(self, "rates", {k: float({**self.rates, **missing}[k]) for k in REGION_KEYS})

    def abnormal_share(self) -> float:
        """Expected share of films with at least one abnormal region."""
        return 1.0 - float(np.prod([1.0 - self.rates[k] for k in REGION_KEYS]))

    @classmethod
    def parse(cls, text: str | None) -> Prevalence:
        """Read ``paper``, ``balanced`` or ``KEY=P,...`` (region keys and ``uncertain``), e.g.
        ``balanced,uncertain=0.2`` or ``lungs=0.3,heart=0.1`` (other regions keep the paper's rates)."""
        rates = _paper_rates()
        uncertain = cls().uncertain
        for part in (text or "").split(","):
            part = part.strip()
            if not part:
                continue
            if part in PRESETS:
                rates = dict(PRESETS[part])
                continue
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or (key not in REGION_KEYS and key != "uncertain"):
                raise UserError(
                    f"cannot read prevalence item {part!r}: write a preset ({', '.join(PRESETS)}) or "
                    f"KEY=P with KEY one of {', '.join(REGION_KEYS)}, uncertain"
                )
            try:
                p = float(value)
            except ValueError:
                raise UserError(f"prevalence {key}={value!r} is not a number between 0 and 1") from None
            if key == "uncertain":
                uncertain = p
            else:
                rates[key] = p
        return cls(rates=rates, uncertain=uncertain)


def sample_truth(rng: np.random.Generator, prevalence: Prevalence | None = None) -> dict[str, str]:
    """Ground-truth value (``1``/``u``/``0``) of each region for one film."""
    prev = prevalence or Prevalence()
    draws = rng.random((len(REGION_KEYS), 2))
    truth = {}
    for key, (abnormal, hedged) in zip(REGION_KEYS, draws, strict=True):
        if abnormal < prev.rates[key]:
            truth[key] = UNCERTAIN if hedged < prev.uncertain else ABNORMAL
        else:
            truth[key] = NORMAL
    return truth
