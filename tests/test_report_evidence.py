"""The labeler's evidence, marked in the report's own text."""

from __future__ import annotations

import re
from html import unescape

from cxr_regions.label import Labeler
from cxr_regions.report.evidence import Evidence, highlight, parse_evidence


def _plain(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def _marks(text: str) -> list[Evidence]:
    return Labeler().label(text).evidence


def test_clauses_are_underlined_and_cues_marked_in_the_original_characters():
    text = "两肺纹理增多，右下肺见斑片状模糊影，考虑炎症可能。心影增大。左侧肋膈角变钝？"
    html = str(highlight(text, _marks(text)))
    assert '<span class="clause r-heart"' in html and '<mark class="cue r-heart"' in html
    assert "增大</mark>" in html
    assert "diaphragm 膈面膈角 = u (uncertain)" in html
    assert "变钝？</mark>" in html  # a hedged cue (变钝, hedged by ?) marks both
    assert _plain(html) == text  # every character kept, full-width punctuation included


def test_text_is_escaped_and_unfound_evidence_is_skipped():
    text = "心影<b>增大</b>"
    html = str(
        highlight(
            text, [Evidence("heart", "1", "心影增大", "增大"), Evidence("aorta", "1", "主动脉结突出", "突出")]
        )
    )
    assert "<b>" not in html and "&lt;b&gt;" in html and _plain(html) == text
    assert "r-aorta" not in html


def test_parse_evidence_reads_the_labels_csv_column():
    cell = '[{"region": "heart", "value": "1", "clause": "心影增大", "cue": "增大"}]'
    assert parse_evidence(cell) == [Evidence("heart", "1", "心影增大", "增大")]
    assert parse_evidence("[]") == [] and parse_evidence(float("nan")) == [] and parse_evidence(None) == []


def test_an_older_files_hedged_cue_is_marked_as_cue_and_hedge():
    text = "左下肺结节可能。"
    old = '[{"region": "lungs", "value": "u", "clause": "左下肺结节可能", "cue": "结节 [可能]"}]'
    marks = parse_evidence(old)
    assert marks == [Evidence("lungs", "u", "左下肺结节可能", "结节", "可能", "hedge")]
    html = str(highlight(text, marks))
    assert ">结节可能</mark>" in html  # the cue and the hedge next to it, one mark
    assert "cue 结节 [可能]" in html  # the tooltip names the cue and its hedge


def test_english_evidence_is_marked_in_the_reports_own_capitals_and_spacing():
    from cxr_regions.label.bilingual import make_labeler

    text = "The heart is  normal.\nSmall LEFT pleural effusion. Tortuous aorta."
    marks = make_labeler("en").label(text).evidence
    assert {m.region for m in marks} == {"diaphragm", "aorta"}
    html = str(highlight(text, marks))
    assert "pleural effusion</mark>" in html and "Tortuous</mark>" in html
    assert '<span class="clause r-diaphragm"' in html
    assert _plain(html) == text
