"""``label-eval --errors errors.md``: every disagreement with gold, for a person to read.

Grouped by region, then by rule (the gold record's policy rule, or else what the labeler read:
the finding group behind its evidence, or nothing), each with the report text, the gold and the
predicted value and the labeler's evidence for that region, so that a wrong label can be traced to
a vocabulary word or a rule.
"""

from __future__ import annotations

from collections import defaultdict

from cxr_regions.contracts.label_rows import TYPO, parse_evidence
from cxr_regions.label.scoring import Disagreement, Score
from cxr_regions.regions import REGION_KEYS


def _evidence_lines(d: Disagreement) -> list[str]:
    items = [e for e in parse_evidence(d.evidence) if e.region == d.region and e.clause]
    if not items:
        return ["  - evidence: none (the labeler read no finding of this region)"]
    return [
        f"  - evidence: `{e.value}` from cue `{e.cue}`{f' hedged by `{e.hedge}`' if e.hedge else ''}"
        f"{' (typo-tolerant)' if e.basis == TYPO else ''} in clause “{e.clause}”"
        for e in items
    ]


def errors_markdown(result: Score, title: str = "Labeler disagreements") -> str:
    """The disagreements of ``result`` as Markdown, grouped by region and rule."""
    lines = [
        f"# {title}",
        "",
        f"{result.reports} reports, {len(result.disagreements)} disagreement(s) in "
        f"{len({d.report_id for d in result.disagreements})} report(s); macro F1 {result.macro_f1:.4f}.",
        "",
    ]
    by_region: dict[str, dict[str, list[Disagreement]]] = {k: defaultdict(list) for k in REGION_KEYS}
    for d in result.disagreements:
        by_region[d.region][d.rule or "unknown"].append(d)
    for region in REGION_KEYS:
        groups = by_region[region]
        count = sum(map(len, groups.values()))
        lines += [f"## {region} ({count})", ""]
        if not count:
            lines += ["No disagreement.", ""]
            continue
        for rule, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            lines += [f"### {rule} ({len(items)})", ""]
            for d in items:
                lines.append(f"- **{d.report_id}**: gold `{d.gold}`, predicted `{d.predicted}`")
                lines.append(f"  - text: {d.text.replace(chr(10), ' ')}")
                lines += _evidence_lines(d)
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
