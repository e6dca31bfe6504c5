"""The policy suite (tests/data/policy_suite.jsonl): clauses and short reports written from
shared/spec/labeling-policy.md rule by rule — every rule and exception (positioning, gone, outside
the five regions, devices, hedge of the cause vs of the finding...) — each with its five expected
values. Every record must pass; ``cxr-regions label-eval --gold tests/data/policy_suite.jsonl``
prints the pass rate per rule."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from cxr_regions.label import Labeler
from cxr_regions.label.scoring import read_gold, score
from cxr_regions.regions import REGION_KEYS, VALUES

SUITE = Path(__file__).parent / "data" / "policy_suite.jsonl"
# Every rule family of the policy, and the exceptions the issue names, must be present.
FAMILIES = {
    "thorax", "lungs", "aorta", "heart", "diaphragm", "markings", "device", "outside", "gone",
    "advice", "hedge", "negation", "severity", "combine", "variants", "numbered", "report",
}  # fmt: skip
EXCEPTIONS = {
    "thorax.positioning", "thorax.lumbar", "thorax.outside_bone", "lungs.external", "lungs.reexpanded",
    "heart.shifted", "hedge.cause", "hedge.finding", "device.beside", "device.organ_stent",
}  # fmt: skip


def _records() -> list[dict]:
    return [json.loads(line) for line in SUITE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_suite_is_well_formed_and_covers_every_rule() -> None:
    records = _records()
    assert len(records) >= 400
    assert len({r["id"] for r in records}) == len(records)
    texts = [r["text"] for r in records]
    assert len(set(texts)) == len(texts), [t for t, n in Counter(texts).items() if n > 1]
    for r in records:
        assert {k: r[k] for k in REGION_KEYS if r[k] not in VALUES} == {}, r["id"]
    rules = {r["rule"] for r in records}
    assert {rule.split(".")[0] for rule in rules} >= FAMILIES
    assert rules >= EXCEPTIONS
    thorax = [r for r in records if r["rule"].startswith("thorax.")]
    assert len(thorax) >= 150  # the region the issue is about, in all its wordings


def test_every_record_of_the_policy_suite_passes() -> None:
    labeler = Labeler()
    wrong = []
    for r in _records():
        got = labeler.label(r["text"])
        want = "".join(r[k] for k in REGION_KEYS)
        have = "".join(got.values[k] for k in REGION_KEYS)
        if want != have:
            wrong.append(f"{r['id']}: want {want} got {have} {[e.cue for e in got.evidence]} | {r['text']}")
    assert not wrong, "\n".join(wrong)


def test_label_eval_scores_the_suite_per_rule() -> None:
    records = read_gold(SUITE)  # the five values at the top level are read as the labels
    result = score(records, labeler=Labeler())
    table = result.rule_table()
    assert set(table["rule"]) == {r["rule"] for r in _records()}
    assert table["records"].sum() == len(records)
    assert (table["pass_rate"] == 1.0).all(), table[table["pass_rate"] < 1.0]
    assert result.macro_f1 == 1.0
