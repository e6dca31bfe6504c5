"""The English vocabulary on the same engine: the policy-style clause suite, whole-word matching,
language detection, and the ``--language`` choices.

tests/data/english_clauses.jsonl holds English clauses with the values labeling-policy.md gives them
(written before the vocabulary was tuned on them), one section per rule of the policy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cxr_regions.errors import UserError
from cxr_regions.label.bilingual import AutoLabeler, make_labeler
from cxr_regions.label.labeler import Labeler
from cxr_regions.label.language import detect_language
from cxr_regions.label.vocabulary import load_vocabulary
from cxr_regions.regions import REGION_KEYS

CLAUSES = Path(__file__).parent / "data" / "english_clauses.jsonl"


def _clauses() -> list[dict]:
    return [json.loads(line) for line in CLAUSES.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def english() -> Labeler:
    return make_labeler("en")


def _values(labeler, text: str) -> str:
    return "".join(labeler.label(text).values[k] for k in REGION_KEYS)


def test_the_clause_suite_is_large_and_covers_every_rule() -> None:
    clauses = _clauses()
    assert len(clauses) >= 300
    sections = {c["section"] for c in clauses}
    for rule in ("negation", "hedges", "resolved and comparisons", "devices", "advice", "increased markings"):
        assert rule in sections


def test_every_clause_labels_as_the_policy_says(english: Labeler) -> None:
    wrong = []
    for case in _clauses():
        want = "".join(case["labels"][k] for k in REGION_KEYS)
        got = _values(english, case["text"])
        if got != want:
            wrong.append(f"{case['text']!r} ({case['section']}: {case['rule']}): want {want}, got {got}")
    assert not wrong, f"{len(wrong)} clause(s) wrong:\n" + "\n".join(wrong)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Normal.", "00000"),  # "no" is not read inside "normal"
        ("Nodule in the right lung.", "01000"),  # nor inside "nodule"
        ("Hydropneumothorax.", "01001"),  # "pneumothorax" is not read inside "hydropneumothorax"
        ("Pneumothorax.", "01000"),
        ("Abnormal heart.", "00010"),
    ],
)
def test_words_match_whole(english: Labeler, text: str, want: str) -> None:
    assert _values(english, text) == want


def test_evidence_is_english_text(english: Labeler) -> None:
    result = english.label("The heart is normal. Small left pleural effusion, unchanged.")
    assert result.label_string == "00001"
    (evidence,) = result.evidence
    assert evidence.region == "diaphragm"
    assert evidence.cue == "pleural effusion"
    assert "small left pleural effusion" in evidence.clause


def test_a_comma_list_after_a_negation_is_denied_but_a_new_statement_is_not(english: Labeler) -> None:
    assert _values(english, "No pneumothorax, pleural effusion, or consolidation.") == "00000"
    assert _values(english, "No effusion, the heart is enlarged.") == "00010"


def test_language_is_detected_by_script() -> None:
    assert detect_language("心影增大。") == "zh"
    assert detect_language("The heart is enlarged.") == "en"
    assert detect_language("CTR 0.55, 心影增大") == "zh"


def test_auto_reads_each_report_in_its_language() -> None:
    labeler = make_labeler("auto")
    assert isinstance(labeler, AutoLabeler)
    assert labeler.label("心影增大。").label_string == "00010"
    assert labeler.label("Cardiomegaly.").label_string == "00010"
    assert labeler.label("右侧胸腔积液。").label_string == "00001"
    assert labeler.counts == {"zh": 2, "en": 1}


def test_chinese_is_unchanged_by_the_english_vocabulary() -> None:
    assert make_labeler("zh").label("心影增大，见少许渗出。").label_string == "01010"
    assert Labeler().vocabulary.language == "zh"


def test_an_unknown_language_is_a_user_error() -> None:
    with pytest.raises(UserError, match="use zh, en, auto"):
        make_labeler("fr")


def test_an_english_file_extends_the_english_default(tmp_path: Path) -> None:
    extra = tmp_path / "ours.yaml"
    extra.write_text(
        "language: en\nextends: default\n"
        "findings:\n  - name: ours\n    fixed: [lungs]\n    terms: [lung thing]\n",
        encoding="utf-8",
    )
    vocabulary = load_vocabulary(extra)
    assert vocabulary.language == "en"
    labeler = Labeler(vocabulary)
    assert labeler.label("A lung thing. Cardiomegaly.").label_string == "01010"
    with pytest.raises(UserError, match="written for language 'en'"):
        make_labeler("zh", vocabulary=extra)


def test_label_file_reads_english_and_mixed_reports_into_the_same_labels_csv(tmp_path: Path) -> None:
    import pandas as pd

    from cxr_regions.label import label_file, table1
    from cxr_regions.label.files import OUTPUT_COLUMNS, config_path

    source = tmp_path / "reports.csv"
    pd.DataFrame(
        {
            "accession_number": ["A1", "A2", "A3", "A4"],
            "findings": [
                "The heart is enlarged. No pleural effusion.",
                "Lungs are clear. Degenerative changes of the thoracic spine.",
                "Normal chest.",
                "心影增大。右侧胸腔积液。",
            ],
        }
    ).to_csv(source, index=False)
    english = tmp_path / "en.csv"
    label_file(source, english, progress=False, language="en")
    frame = pd.read_csv(english, dtype=str, keep_default_na=False)
    assert tuple(frame.columns) == OUTPUT_COLUMNS
    assert list(frame["label_string"][:3]) == ["00010", "10000", "00000"]
    assert "thoracic spine" in frame["evidence"][1]
    assert "language: en" in config_path(english).read_text(encoding="utf-8")
    mixed = tmp_path / "auto.csv"
    label_file(source, mixed, progress=False, language="auto")
    assert list(pd.read_csv(mixed, dtype=str)["label_string"]) == ["00010", "10000", "00000", "00011"]
    table = table1(pd.read_csv(mixed, dtype=str, keep_default_na=False))  # Table 1 as for Chinese
    assert int(table.loc[table["label"] == "heart", "films"].iloc[0]) == 2


def test_increased_markings_follow_the_markings_policy_in_english() -> None:
    default, other = make_labeler("en"), make_labeler("en", markings_abnormal=True)
    for text in ("Increased interstitial markings.", "The interstitial markings are prominent."):
        result = default.label(text)
        assert result.label_string == "00000" and result.markings_only
        assert other.label(text).label_string == "01000"
    assert other.label("No increased interstitial markings.").label_string == "00000"
