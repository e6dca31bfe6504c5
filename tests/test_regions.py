import pytest

from cxr_regions import regions


def test_five_regions_in_the_method_order():
    assert regions.REGION_KEYS == ("thorax", "lungs", "aorta", "heart", "diaphragm")
    assert [r.zh for r in regions.REGIONS] == ["胸廓", "两肺", "主动脉", "心影", "膈面膈角"]
    assert [r.index for r in regions.REGIONS] == list(range(5))


def test_strongest_value_wins():
    assert regions.strongest([]) == "0"
    assert regions.strongest(["0", "u"]) == "u"
    assert regions.strongest(["u", "1", "0"]) == "1"
    with pytest.raises(ValueError):
        regions.strongest(["2"])


def test_label_string_counts_uncertain_as_abnormal():
    values = {"thorax": "0", "lungs": "1", "aorta": "u", "heart": "0", "diaphragm": "1"}
    assert regions.label_string(values) == "01101"


def test_parse_regions_keeps_canonical_order_and_rejects_unknown():
    assert regions.parse_regions(["heart", "lungs"]) == ("lungs", "heart")
    assert regions.parse_regions(None) == regions.REGION_KEYS
    with pytest.raises(KeyError, match="the regions are"):
        regions.parse_regions(["liver"])


def test_one_call_rule_at_or_above_the_threshold():
    import numpy as np

    assert regions.call(0.5, 0.5) is True and regions.call(0.4999, 0.5) is False
    assert regions.call(np.array([0.2, 0.5, 0.9]), 0.5).tolist() == [False, True, True]
    probabilities = {"heart": 0.7, "lungs": 0.5, "aorta": 0.2}
    assert regions.calls(probabilities, {"heart": 0.8}) == {"heart": False, "lungs": True, "aorta": False}
    assert regions.called(probabilities, {"aorta": 0.1}) == ["heart", "lungs", "aorta"]


def test_operating_thresholds_fill_missing_and_undefined_with_the_default():
    given = {"heart": 0.3, "lungs": float("nan"), "aorta": None}
    cuts = regions.operating_thresholds(given)
    assert cuts == {"thorax": 0.5, "lungs": 0.5, "aorta": 0.5, "heart": 0.3, "diaphragm": 0.5}
    assert regions.operating_thresholds(0.2, ["Effusion"]) == {"Effusion": 0.2}
    assert regions.operating_thresholds(None) == dict.fromkeys(regions.REGION_KEYS, regions.DEFAULT_THRESHOLD)


def test_the_default_threshold_and_the_call_are_written_once():
    """Only regions.py defines DEFAULT_THRESHOLD; no stage that calls probabilities compares one with a
    threshold itself (it goes through regions.call / calls)."""
    import ast
    from pathlib import Path

    package = Path(regions.__file__).parent
    definitions, comparisons = [], []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        where = path.relative_to(package)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "DEFAULT_THRESHOLD" for t in node.targets
            ):
                definitions.append(str(where))
            calling = where.parts[0] in ("evaluation", "explain", "report", "pacs", "serve")
            if calling and isinstance(node, ast.Compare):
                text = ast.unparse(node)
                if any(isinstance(op, ast.GtE) for op in node.ops) and ("thresh" in text or "cut" in text):
                    comparisons.append(f"{where}:{node.lineno}: {text}")
    assert definitions == ["regions.py"]
    assert not comparisons, comparisons
