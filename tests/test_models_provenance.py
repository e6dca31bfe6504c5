"""Provenance of starting weights: what a model card's text says, and that research-only weights
stay research-only through a `chestx14:` checkpoint."""

from __future__ import annotations

import json

from cxr_regions.models import Provenance, create_model
from cxr_regions.models.provenance import research_only_text
from cxr_regions.training import read_provenance, save_model
from helpers import one_torch_thread


def test_research_only_sentences_are_found_and_others_are_not():
    card = (
        "RAD-DINO is a vision transformer.\n\nRAD-DINO is shared for research purposes only. It is not meant."
    )
    assert research_only_text(card) == "RAD-DINO is shared for research purposes only."
    assert research_only_text("**NOT FOR MEDICAL USE**") == "NOT FOR MEDICAL USE"
    assert research_only_text("Apache-2.0. Trained on ImageNet-1k for image classification.") is None
    unknown = Provenance.from_dict(None)
    assert unknown.library == "unknown" and not unknown.research_only


def test_research_only_weights_stay_research_only_after_a_pretraining_hop(tmp_path):
    with one_torch_thread():
        pretrained = create_model("resnet18", 14, "scratch", input_size=32)
        pretrained.provenance = Provenance(
            library="torchxrayvision",
            weights="densenet-like weights",
            research_only=True,
            intended_use="not for medical use",
        ).to_dict()
        save_model(pretrained, tmp_path / "pretrain", [f"f{i}" for i in range(14)])
        tuned = create_model("resnet18", 5, f"chestx14:{tmp_path / 'pretrain'}", input_size=32)
    provenance = Provenance.from_dict(tuned.provenance)
    assert provenance.library == "cxr-regions" and len(provenance.sha256) == 64
    assert provenance.research_only and provenance.intended_use == "not for medical use"
    assert provenance.based_on.library == "torchxrayvision"
    save_model(tuned, tmp_path / "tuned", [f"r{i}" for i in range(5)])
    assert json.loads((tmp_path / "tuned" / "model.json").read_text())["provenance"]["research_only"] is True
    read = read_provenance(tmp_path / "tuned")
    assert read.research_only and "RESEARCH USE ONLY" in read.summary()
