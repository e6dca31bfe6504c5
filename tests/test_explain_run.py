"""``explain`` with a model trained on phantoms: the heart heatmap finds the heart; DICOM and PNG in."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cxr_regions.errors import UserError
from cxr_regions.regions import REGION_KEYS
from helpers import one_torch_thread, shared_path


@pytest.fixture(scope="module")
def test_films(phantom_dataset, tmp_path_factory) -> tuple[Path, Path, pd.DataFrame]:
    """The test split's films as PNG files named by image id, and their masks as <image id>.npz."""
    from cxr_regions.build import open_dataset

    data = open_dataset(phantom_dataset)
    test = data.manifest[data.manifest["split"] == "test"]
    root = tmp_path_factory.mktemp("explain-films")
    films, masks = root / "films", root / "masks"
    films.mkdir()
    masks.mkdir()
    all_masks = np.load(Path(phantom_dataset).parent / "masks.npz")
    for row in test.itertuples():
        cv2.imwrite(str(films / f"{row.image_id}.png"), np.asarray(data.images[row.index]))
        np.savez(
            masks / f"{row.image_id}.npz", **dict(zip(REGION_KEYS, all_masks[row.image_id], strict=True))
        )
    return films, masks, test


@pytest.fixture(autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


@pytest.mark.parametrize("method", ["gradcam", "layercam"])  # explain's default and the demo's
def test_heart_heatmap_peaks_inside_the_heart_far_more_often_than_chance(
    trained_run, test_films, tmp_path, method
):
    from cxr_regions.explain import explain_images

    films, masks, test = test_films
    enlarged = [films / f"{i}.png" for i in test.loc[test["heart"] == 1, "image_id"]]
    assert len(enlarged) >= 10
    summary = explain_images(
        trained_run, enlarged, tmp_path, method, ["heart"], masks, panels=False, progress=False
    )
    heart = summary.localisation.set_index("region").loc["heart"]
    assert heart["films"] == len(enlarged)
    assert 0.03 < heart["chance"] < 0.3  # the heart mask's share of the film
    assert heart["pointing_game"] >= 3 * heart["chance"], summary.localisation
    assert heart["energy_share"] > heart["chance"]

    table = pd.read_csv(tmp_path / "explain.csv")
    assert len(table) == len(enlarged) and {f"p_{k}" for k in REGION_KEYS} <= set(table.columns)
    one = Path(enlarged[0]).stem
    with np.load(tmp_path / "heatmaps" / one / "heatmaps.npz") as saved:
        assert list(saved.files) == ["heart"]
        heat = saved["heart"].astype(np.float32)
    assert heat.shape == (64, 64) and heat.min() >= 0.0 and heat.max() <= 1.0
    assert cv2.imread(str(tmp_path / "heatmaps" / one / "heart.png")).shape == (64, 64, 3)
    assert (tmp_path / "localisation.md").read_text(encoding="utf-8").count(
        "| heart |"
    ) == 2  # all, predicted


def test_dicom_and_png_films_get_heatmaps_at_their_own_size_and_a_panel(trained_run, test_films, tmp_path):
    from cxr_regions.explain import explain_images

    dicom = shared_path("dicom", "RG1_UNCI.dcm")  # 1955×1841, MONOCHROME1
    films, _, _ = test_films
    png = sorted(films.glob("*.png"))[0]
    reports = {png.stem: "两肺纹理增多，心影增大。双侧肋膈角锐利。"}
    summary = explain_images(
        trained_run, [dicom, png], tmp_path, regions=["heart", "lungs"], reports=reports, progress=False
    )
    assert list(summary.films["image"]) == ["RG1_UNCI", png.stem]
    with np.load(tmp_path / "heatmaps" / "RG1_UNCI" / "heatmaps.npz") as saved:
        assert saved["heart"].shape == (1955, 1841)
        assert float(saved["lungs"].min()) >= 0.0 and float(saved["lungs"].max()) <= 1.0
    for name in ("RG1_UNCI", png.stem):
        panel = cv2.imread(str(tmp_path / "panels" / f"{name}.png"))
        assert panel is not None and panel.shape[1] > panel.shape[0]
    assert (tmp_path / "config.yaml").exists()


def test_bad_input_is_a_user_error(trained_run, test_films, tmp_path):
    from cxr_regions.explain import explain_images

    films, _, _ = test_films
    png = sorted(films.glob("*.png"))[0]
    with pytest.raises(UserError, match="does not exist"):
        explain_images(trained_run, [tmp_path / "missing.png"], tmp_path / "out", progress=False)
    with pytest.raises(UserError, match="no output for spleen"):
        explain_images(trained_run, [png], tmp_path / "out", regions=["spleen"], progress=False)
    with pytest.raises(UserError, match="none of the 1 films has a mask"):
        explain_images(trained_run, [png], tmp_path / "out", masks_dir=tmp_path, panels=False, progress=False)
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / png.name).write_bytes(png.read_bytes())
    with pytest.raises(UserError, match="would both be written"):
        explain_images(trained_run, [png, twin / png.name], tmp_path / "out", progress=False)


def test_explain_command(trained_run, test_films, tmp_path):
    from cxr_regions.cli import app

    films, masks, _ = test_films
    png = sorted(films.glob("*.png"))[0]
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["explain", str(trained_run), str(png), "-o", str(tmp_path), "--regions", "heart,aorta",
         "--method", "gradcam++", "--masks", str(masks), "--no-panels"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "pointing game" in result.output
    assert sorted(p.name for p in (tmp_path / "heatmaps" / png.stem).iterdir()) == [
        "aorta.png",
        "heart.png",
        "heatmaps.npz",
    ]
    bad = runner.invoke(
        app, ["explain", str(trained_run), str(png), "-o", str(tmp_path), "--method", "magic"]
    )
    assert isinstance(bad.exception, UserError) and "unknown heatmap method" in str(bad.exception)


def test_explain_a_split_of_a_dataset(trained_run, phantom_dataset, tmp_path):
    from cxr_regions.build import BuildConfig, build_from_arrays, open_dataset
    from cxr_regions.cli import app
    from cxr_regions.training import predict

    data = open_dataset(phantom_dataset)
    rows = data.manifest[data.manifest["split"] == "test"].head(12)
    small = build_from_arrays(
        tmp_path / "small",
        np.stack([np.asarray(data.images[i]) for i in rows["index"]]),
        rows[["image_id", "patient_key", *REGION_KEYS]].reset_index(drop=True),
        BuildConfig(size=64, split=(0.5, 0.25, 0.25), min_positives=0, progress=False),
    )
    test_ids = open_dataset(small).manifest.query("split == 'test'")["image_id"].astype(str)
    args = ["explain", str(trained_run), "--split", "test", "--dataset", str(small),
            "-o", str(tmp_path / "x"), "--regions", "heart", "--no-panels"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    explained = pd.read_csv(tmp_path / "x" / "explain.csv", dtype={"image": str}).set_index("image")
    assert sorted(explained.index) == sorted(test_ids) and len(test_ids) > 0
    predicted = predict(trained_run, small, "test").set_index("image_id")  # what `evaluate` scores
    for name in REGION_KEYS:  # explain sees the film the way evaluate does
        assert np.allclose(explained[f"p_{name}"], predicted.loc[explained.index, f"p_{name}"], atol=1e-4)
    both = CliRunner().invoke(app, [*args, str(tmp_path)])
    assert isinstance(both.exception, UserError) and "not both" in str(both.exception)
