"""Score labels against gold labels (``label-eval``): per region precision, recall and F1 of the
binary reading (``u`` counts as 1), three-way accuracy, macro F1, and every disagreement.

Gold files use the format of ../shared/data/zh-reports/dev.jsonl: one JSON object per line with
``id``, ``text`` and ``labels`` (region -> ``1``/``u``/``0``), optionally ``markings_only``; or a
``.csv`` in the labels.csv format (``report_id``, the five regions, optionally ``text``), such as the
radiologists' verdicts that ``verdicts export`` writes. In JSONL the five values may also stand at
the top level, and a ``rule`` field names the policy rule a record tests (tests/data/policy_suite.jsonl):
then the pass rate per rule is scored too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cxr_regions.contracts import label_rows as labels_contract
from cxr_regions.errors import UserError
from cxr_regions.label.bilingual import AutoLabeler
from cxr_regions.label.labeler import Labeler
from cxr_regions.label.vocabulary import load_vocabulary
from cxr_regions.regions import REGION_KEYS, VALUES, to_binary


@dataclass
class RegionScore:
    """Binary confusion counts and scores of one region, plus three-way accuracy."""

    region: str
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    exact: int = 0
    n: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def accuracy3(self) -> float:
        return self.exact / self.n if self.n else 1.0


@dataclass
class Disagreement:
    """One region of one report where prediction and gold differ."""

    report_id: str
    region: str
    gold: str
    predicted: str
    text: str
    evidence: str
    rule: str = ""  # the record's policy rule, else what the labeler read (see :func:`reading`)


@dataclass
class Score:
    """The whole comparison."""

    regions: dict[str, RegionScore]
    reports: int
    disagreements: list[Disagreement] = field(default_factory=list)
    markings_agree: int | None = None
    markings_n: int = 0
    rules: dict[str, list[int]] = field(default_factory=dict)  # rule -> [records passed, records]

    @property
    def macro_f1(self) -> float:
        return sum(s.f1 for s in self.regions.values()) / len(self.regions)

    def table(self) -> pd.DataFrame:
        rows = [
            {
                "region": k,
                "precision": round(s.precision, 4),
                "recall": round(s.recall, 4),
                "f1": round(s.f1, 4),
                "accuracy_3way": round(s.accuracy3, 4),
                "tp": s.tp,
                "fp": s.fp,
                "fn": s.fn,
                "tn": s.tn,
            }
            for k, s in self.regions.items()
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return {
            "reports": self.reports,
            "macro_f1": round(self.macro_f1, 4),
            "regions": self.table().to_dict(orient="records"),
            "markings_only_accuracy": (
                round(self.markings_agree / self.markings_n, 4) if self.markings_agree is not None else None
            ),
            "disagreements": len(self.disagreements),
            "rules": {k: {"passed": p, "records": n} for k, (p, n) in sorted(self.rules.items())},
        }

    def rule_table(self) -> pd.DataFrame:
        """Per policy rule: records, passed (all five values right), pass rate."""
        rows = [
            {"rule": k, "records": n, "passed": p, "pass_rate": round(p / n, 4)}
            for k, (p, n) in sorted(self.rules.items())
        ]
        return pd.DataFrame(rows, columns=["rule", "records", "passed", "pass_rate"])


def read_gold(path: str | Path) -> list[dict]:
    """Read a gold JSONL file (or a labels.csv-format ``.csv``), checking every record has an id, a text
    and five valid labels."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"gold file not found: {path}")
    if path.suffix.lower() == ".csv":
        return _read_gold_csv(path)
    records = []
    with path.open(encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path}: line {number}: not valid JSON ({exc.msg})") from None
            labels = record.get("labels") if isinstance(record, dict) else None
            if labels is None and isinstance(record, dict) and all(k in record for k in REGION_KEYS):
                labels = record["labels"] = {k: record[k] for k in REGION_KEYS}
            if not isinstance(labels, dict) or "id" not in record:
                raise UserError(f"{path}: line {number}: needs an 'id' and a 'labels' object")
            bad = [k for k in REGION_KEYS if str(labels.get(k)) not in VALUES]
            if bad:
                raise UserError(
                    f"{path}: line {number}: labels {bad} must be one of {', '.join(VALUES)} "
                    f"(regions: {', '.join(REGION_KEYS)})"
                )
            records.append(record)
    return records


def _read_gold_csv(path: Path) -> list[dict]:
    """Gold labels from a labels.csv-format table (such as a verdict export): one record per row,
    ``text`` empty where the table has none."""
    records = []
    for number, row in enumerate(labels_contract.rows(labels_contract.read(path, what="gold CSV")), start=2):
        if not row.report_id:
            raise UserError(f"{path}: row {number}: needs a report_id")
        text = row.extra.get("text", "")
        records.append({"id": row.report_id, "text": text, "labels": dict(row.values)})
    return records


def read_predictions(path: str | Path) -> dict[str, labels_contract.LabelRow]:
    """labels.csv -> {report_id: row}."""
    return labels_contract.read_rows(path, what="predictions file")


def score(
    gold: list[dict],
    predictions: dict[str, labels_contract.LabelRow] | None = None,
    labeler: Labeler | AutoLabeler | None = None,
) -> Score:
    """Compare predictions (labels.csv rows by id, or the labeler run on the gold texts) with gold."""
    regions = {k: RegionScore(k) for k in REGION_KEYS}
    result = Score(regions=regions, reports=len(gold))
    if predictions is None:
        labeler = labeler or Labeler()
    markings_agree = markings_n = 0
    missing = []
    for record in gold:
        rid = str(record["id"])
        text = str(record.get("text") or "")
        if predictions is not None:
            row = predictions.get(rid)
            if row is None:
                missing.append(rid)
                continue
            predicted = dict(row.values)
            evidence = labels_contract.evidence_json(row.evidence)
            pred_markings = row.markings_only
        else:
            assert labeler is not None  # set above when there are no predictions
            labels = labeler.label(text)
            predicted = labels.values
            evidence = labels_contract.evidence_json(labels.evidence)
            pred_markings = labels.markings_only
        if "markings_only" in record:
            markings_n += 1
            markings_agree += bool(record["markings_only"]) == pred_markings
        rule = str(record.get("rule") or "")
        if rule:
            tally = result.rules.setdefault(rule, [0, 0])
            tally[1] += 1
            tally[0] += all(str(record["labels"][k]) == predicted[k] for k in REGION_KEYS)
        for key in REGION_KEYS:
            g, p = str(record["labels"][key]), predicted[key]
            s = regions[key]
            gb, pb = to_binary(g), to_binary(p)
            s.n += 1
            s.exact += g == p
            s.tp += gb and pb
            s.fp += pb and not gb
            s.fn += gb and not pb
            s.tn += not gb and not pb
            if g != p:
                reader = labeler.labeler_for(text) if isinstance(labeler, AutoLabeler) else labeler
                why = rule or reading(key, p, evidence, reader)
                result.disagreements.append(Disagreement(rid, key, g, p, text, evidence, why))
    if missing:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise UserError(f"{len(missing)} gold report(s) have no row in the predictions: {shown}")
    if markings_n:
        result.markings_agree, result.markings_n = markings_agree, markings_n
    return result


def reading(region: str, predicted: str, evidence: str, labeler: Labeler | None = None) -> str:
    """What the labeler read for ``region``: the finding group of its evidence (``bone``,
    ``opacity``...) and the hedge, or ``nothing read`` for a region it left at 0."""
    items = [e for e in labels_contract.parse_evidence(evidence) if e.region == region and e.value != "0"]
    if predicted == "0" or not items:
        return "nothing read (0)"
    cues = (labeler.vocabulary if labeler is not None else load_vocabulary()).cues
    names = []
    for item in items:
        cue = cues.get(item.cue)
        if cue is None:
            group = "cardiothoracic ratio" if item.cue.startswith("心胸比") else "finding"
        elif cue.markings and (cue.group is None or "纹" in item.clause):
            group = "increased markings"
        else:
            group = cue.group.name if cue.group is not None else "finding"
        names.append(group + (" hedged" if item.hedge else ""))
    return ", ".join(dict.fromkeys(names))
