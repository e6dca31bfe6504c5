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
