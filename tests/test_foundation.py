import inspect
import subprocess
import sys

import pytest

from cxr_regions import fileio
from cxr_regions.configfile import load_config, save_config


def test_cli_help_lists_the_pipeline():
    out = subprocess.run([sys.executable, "-m", "cxr_regions.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "five regions" in out.stdout


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), fileio.atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    fileio.write_text(target, "whole")
    assert target.read_text() == "whole"


def test_config_round_trip(tmp_path):
    from dataclasses import dataclass

    @dataclass
    class Cfg:
        size: int = 256
        name: str = "两肺"

    path = save_config(Cfg(), tmp_path / "config.yaml", command="test")
    assert load_config(path) == {"size": 256, "name": "两肺"}


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    import os

    umask = os.umask(0)
    os.umask(umask)
    path = fileio.write_text(tmp_path / "shared.txt", "x")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_lazy_exports_refuse_a_name_its_own_submodule_would_shadow():
    from cxr_regions.lazy import lazy_exports

    with pytest.raises(ValueError, match="named like the submodule"):
        lazy_exports("cxr_regions.training", {"predict": "predict"})


def test_every_stage_export_is_the_object_even_after_all_submodules_are_imported():
    import importlib
    import pkgutil

    import cxr_regions

    for info in pkgutil.walk_packages(cxr_regions.__path__, "cxr_regions."):
        if not info.name.endswith((".migrations", ".env")) and ".migrations." not in info.name:
            importlib.import_module(info.name)
    for stage in ("training", "explain", "evaluation", "build", "label", "models", "report"):
        package = importlib.import_module(f"cxr_regions.{stage}")
        for name in package.__all__:
            assert not inspect.ismodule(getattr(package, name)), f"cxr_regions.{stage}.{name} is a module"


def test_remove_outputs_removes_the_named_files_and_folders_only(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "model.json").write_text("{}")
    (tmp_path / "report.html").write_text("x")
    (tmp_path / "mine.txt").write_text("keep")
    fileio.remove_outputs(tmp_path, ["run", "report.html", "absent.csv"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]
