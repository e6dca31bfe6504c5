"""docs/labeling-policy.md shows the labeler's rules on examples: every example there must label as shown.

Each markdown table whose header is ``text | thorax | lungs | aorta | heart | diaphragm`` is an example
table (``text (--markings-abnormal) | ...``: run with that option); its rows are run through the
labeler and compared cell by cell, so the document cannot drift from the code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cxr_regions.label import Labeler
from cxr_regions.regions import REGION_KEYS

POLICY = Path(__file__).resolve().parents[1] / "docs" / "labeling-policy.md"
MARKINGS_OPTION = "text (--markings-abnormal)"


def _cells(line: str) -> list[str]:
    return [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]


def policy_examples(markdown: str) -> list[tuple[str, bool, str, str]]:
    """(heading, markings_abnormal, text, expected five values) for every example row."""
    examples = []
    heading = ""
    option: bool | None = None  # None: not inside an example table
    for line in markdown.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if not line.startswith("|"):
            option = None
            continue
        cells = _cells(line)
        if cells[1:] == list(REGION_KEYS) and cells[0] in ("text", MARKINGS_OPTION):
            option = cells[0] == MARKINGS_OPTION
        elif option is not None and not set(line) <= set("|-: "):
            assert len(cells) == 1 + len(REGION_KEYS), f"{heading}: a row without five values: {line}"
            examples.append((heading, option, cells[0], "".join(cells[1:])))
    return examples


EXAMPLES = policy_examples(POLICY.read_text(encoding="utf-8"))


def test_the_document_has_examples_for_every_rule() -> None:
    headings = {heading for heading, *_ in EXAMPLES}
    assert len(EXAMPLES) >= 80
    assert any(option for _, option, *_ in EXAMPLES)
    for rule in ("Negation", "Devices", "Gone, resolved", "Decisions on borderline wording"):
        assert rule in headings
    assert all(set(values) <= {"0", "1", "u"} and len(values) == 5 for *_, values in EXAMPLES)


def test_every_example_labels_as_the_document_says() -> None:
    labelers = {False: Labeler(), True: Labeler(markings_abnormal=True)}
    wrong = []
    for heading, option, text, want in EXAMPLES:
        result = labelers[option].label(text)
        got = "".join(result.values[k] for k in REGION_KEYS)
        if got != want:
            wrong.append(f"[{heading}] {text}: document {want}, labeler {got}")
    assert not wrong, "\n".join(wrong)


def test_the_parser_reads_a_table_and_ignores_other_tables() -> None:
    markdown = "\n".join(
        [
            "## A rule",
            "| wording | reading |",
            "|---|---|",
            "| 基本吸收 | gone |",
            "",
            "| text | thorax | lungs | aorta | heart | diaphragm |",
            "|---|---|---|---|---|---|",
            "| 心影增大。 | 0 | 0 | 0 | 1 | 0 |",
            "",
            "| text (--markings-abnormal) | thorax | lungs | aorta | heart | diaphragm |",
            "|---|---|---|---|---|---|",
            "| 两肺纹理增多。 | 0 | 1 | 0 | 0 | 0 |",
        ]
    )
    assert policy_examples(markdown) == [
        ("A rule", False, "心影增大。", "00010"),
        ("A rule", True, "两肺纹理增多。", "01000"),
    ]
    with pytest.raises(AssertionError, match="five values"):
        policy_examples("| text | thorax | lungs | aorta | heart | diaphragm |\n| 心影增大。 | 0 | 1 |")
