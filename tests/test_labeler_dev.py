"""The labeler on 315 real reports with gold labels (../shared/data/zh-reports/dev.jsonl).

Target of the issue: macro F1 >= 0.98 and every region >= 0.96 (binary reading, u counts as 1).
"""

from __future__ import annotations

from cxr_regions.label.scoring import read_gold, score
from helpers import shared_path


def test_dev_set_f1() -> None:
    gold = read_gold(shared_path("zh-reports", "dev.jsonl"))
    assert len(gold) >= 300
    result = score(gold)
    per_region = {k: round(s.f1, 4) for k, s in result.regions.items()}
    assert result.macro_f1 >= 0.98, per_region
    assert all(f1 >= 0.96 for f1 in per_region.values()), per_region
    assert result.markings_agree is not None
    assert result.markings_agree / result.markings_n >= 0.95
