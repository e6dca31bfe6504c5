"""The policy suite's pass rate per rule and per family, as Markdown (docs/results.md, label).

tests/data/policy_suite.jsonl holds short clauses and reports written from the labeling policy, each
with its five expected values and the rule it tests (``thorax.vertebra``, ``device.tube``...; the
family is the part before the dot). A record passes when all five values are right.

    .venv/bin/python benchmarks/policy_suite.py [--suite tests/data/policy_suite.jsonl] [--rules]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

SUITE = Path(__file__).resolve().parents[1] / "tests" / "data" / "policy_suite.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--rules", action="store_true", help="also the table per rule")
    args = parser.parse_args()
    from cxr_regions.label import Labeler
    from cxr_regions.label.scoring import read_gold, score

    result = score(read_gold(args.suite), labeler=Labeler())
    families: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for rule, (passed, records) in result.rules.items():
        tally = families[rule.split(".")[0]]
        tally[0] += 1
        tally[1] += records
        tally[2] += passed
    lines = ["| family | rules | records | passed | pass rate |", "|---|---:|---:|---:|---:|"]
    for family, (rules, records, passed) in sorted(families.items()):
        lines.append(f"| {family} | {rules} | {records} | {passed} | {passed / records:.3f} |")
    records = sum(t[1] for t in families.values())
    passed = sum(t[2] for t in families.values())
    total = (len(result.rules), records, passed, f"{passed / records:.3f}")
    lines.append("| **all** | " + " | ".join(f"**{v}**" for v in total) + " |")
    if args.rules:
        lines += ["", "| rule | records | passed | pass rate |", "|---|---:|---:|---:|"]
        for row in result.rule_table().itertuples(index=False):
            lines.append(f"| {row.rule} | {row.records} | {row.passed} | {row.pass_rate:.3f} |")
    regions = ", ".join(f"{k} F1 {s.f1:.3f} / 3-way {s.accuracy3:.3f}" for k, s in result.regions.items())
    lines += ["", f"macro F1 {result.macro_f1:.4f}; {regions}"]
    print("\n".join(lines))
    return 0 if passed == records else 1


if __name__ == "__main__":
    sys.exit(main())
