"""Around the starting points: the experiment grid takes timm names, the one unpickling module is
the converter, and benchmarks/gpu_check.py runs on a bare GPU machine (imports) and says so
without CUDA."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from cxr_regions.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
GPU_CHECK = ROOT / "benchmarks" / "gpu_check.py"


def test_the_grid_takes_timm_names_and_lists_missing_timm_weights(tmp_path, monkeypatch):
    pytest.importorskip("timm", reason="the timm extra: pip install -e '.[timm]' (make test installs it)")
    from huggingface_hub import constants

    from cxr_regions.workflows.experiment import GridConfig, plan_cells

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    grid = GridConfig(dataset=tmp_path, archs=["resnet18", "timm:resnet10t"], inits=["scratch", "imagenet"])
    cells = {c.name: c for c in plan_cells(grid)}
    assert set(cells) == {
        "scratch-resnet18",
        "scratch-timm-resnet10t",
        "imagenet-resnet18",
        "imagenet-timm-resnet10t",
    }
    assert cells["scratch-timm-resnet10t"].missing is None
    missing = cells["imagenet-timm-resnet10t"].missing
    assert missing.startswith("weights missing") and "hf download timm/resnet10t" in missing
    with pytest.raises(UserError, match=r"unknown network timm:swin_tiny_patch4_window7_224 .*not supported"):
        plan_cells(
            GridConfig(dataset=tmp_path, archs=["timm:swin_tiny_patch4_window7_224"], inits=["scratch"])
        )


def test_only_the_torchxrayvision_converter_may_unpickle():
    """Training, evaluation and serving read safetensors (and weights-only checkpoints); the one
    module allowed to load a pickle as it is, is the converter of torchxrayvision's files."""
    allowed = {"src/cxr_regions/models/txv_weights.py"}
    offenders = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"weights_only\s*=\s*False|pickle\.loads?\(|import pickle|import dill", text):
            offenders.append(str(path.relative_to(ROOT)))
    assert set(offenders) <= allowed, offenders
    converter = (ROOT / "src/cxr_regions/models/txv_weights.py").read_text(encoding="utf-8")
    assert "get_model(" in converter  # it unpickles through torchxrayvision's own loader, warning first


def test_gpu_check_imports_only_what_a_bare_gpu_machine_has():
    tree = ast.parse(GPU_CHECK.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"__future__"}
    assert third_party <= {"torch", "torchvision", "numpy", "timm", "transformers"}, third_party


def test_gpu_check_without_cuda_says_so_and_exits_0(monkeypatch, capsys):
    import torch

    spec = importlib.util.spec_from_file_location("gpu_check", GPU_CHECK)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "gpu_check", module)
    spec.loader.exec_module(module)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(sys, "argv", ["gpu_check.py"])
    assert module.main() == 0
    assert "no CUDA GPU on this machine" in capsys.readouterr().out
