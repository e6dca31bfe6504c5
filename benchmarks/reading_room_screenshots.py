"""The reading room's screenshots in docs/images/, made from the current code: a real ``cxr-regions
serve`` with phantom films (a patient with several films, an urgent one), opened in the system's
Chromium with Playwright.

Without ``--run`` a small resnet18 is trained on 64-px phantom films first (a few minutes on two CPU
cores; the tests' recipe), so that the heatmaps show what a trained model looks at.

    .venv/bin/python benchmarks/reading_room_screenshots.py [--run RUN] [--out docs/images]
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_load import session, start

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--force-device-scale-factor=1", "--hide-scrollbars"]
VIEWPORT = {"width": 1500, "height": 940}


def small_run(folder: Path) -> Path:
    """resnet18 trained from scratch on 64-px phantom films (3 per patient), as the tests train it."""
    import pandas as pd

    from cxr_regions.build import BuildConfig, build_from_arrays
    from cxr_regions.phantom import render_film
    from cxr_regions.regions import REGION_KEYS
    from cxr_regions.training import TrainConfig, train

    rng = np.random.default_rng(20200601)
    films, rows = [], []
    for p in range(250):
        truth = {k: "1" if rng.random() < 0.4 else "0" for k in REGION_KEYS}
        for f in range(3):
            films.append(np.round(render_film(rng, truth, size=64).image * 255).astype(np.uint8))
            rows.append({"image_id": f"ph{p:03d}-{f}", "patient_key": f"patient{p:03d}", **truth})
    dataset = build_from_arrays(
        folder / "dataset", np.stack(films), pd.DataFrame(rows), BuildConfig(size=64, seed=0, progress=False)
    )
    config = TrainConfig(
        dataset=dataset, out=folder / "run", arch="resnet18", init="scratch", input_size=64, epochs=8,
        stop_at_auc=0.86, augment=False, num_workers=0, progress=False,
    )  # fmt: skip
    return train(config)


def upload(client, token: str, paths: list[Path], urgent: bool = False) -> list[int]:
    files = [("files", (p.name, p.read_bytes())) for p in paths]
    data = {"csrf": token, "urgent": "1" if urgent else ""}
    response = client.post("/upload", files=files, data=data, headers={"Accept": "application/json"})
    return [r["film_id"] for r in response.json()["results"]]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "images")
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    from cxr_regions.phantom import PhantomConfig, make_phantom

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="room-shots-") as tmp:
        folder = Path(tmp)
        run = args.run or small_run(folder / "model")
        make_phantom(folder / "phantom", PhantomConfig(n=10, size=1024, seed=5, progress=False))
        dicoms = sorted(p for p in (folder / "phantom" / "dicom").rglob("*") if p.is_file())
        process, url = start(run, folder / "room", threads=2)
        try:
            client, token = session(url)
            ids = upload(client, token, dicoms[:-1]) + upload(client, token, dicoms[-1:], urgent=True)
            for film_id in ids:
                while client.get(f"/api/films/{film_id}").json()["status"] in ("queued", "processing"):
                    client.get("/healthz")
            with_priors = next(i for i in ids if client.get(f"/api/films/{i}").json()["priors"])
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(f"{url}/worklist")
                page.keyboard.press("j")
                page.keyboard.press("j")
                page.screenshot(path=str(args.out / "reading-room-worklist.png"))

                page.goto(f"{url}/films/{with_priors}")
                canvas = page.locator("#film-canvas")
                expect(canvas).to_have_attribute("data-full-depth", "1", timeout=60_000)
                for key in ("2", "4"):  # lungs and heart overlays, each in its colour, with the legend
                    page.keyboard.press(key)
                expect(canvas).to_have_attribute("data-loaded", " lungs heart", timeout=120_000)
                box = canvas.bounding_box()
                x0, y0, w, h = (float(v) for v in canvas.get_attribute("data-drawn").split(","))
                page.keyboard.press("c")
                for a, b in (((0.36, 0.66), (0.66, 0.66)), ((0.17, 0.74), (0.84, 0.74))):
                    page.mouse.move(box["x"] + x0 + a[0] * w, box["y"] + y0 + a[1] * h)
                    page.mouse.down()
                    page.mouse.move(box["x"] + x0 + b[0] * w, box["y"] + y0 + b[1] * h, steps=4)
                    page.mouse.up()
                for key in ("A", "j", "x"):
                    page.keyboard.press(key)
                page.mouse.move(box["x"] + x0 + 0.3 * w, box["y"] + y0 + 0.4 * h)
                page.screenshot(path=str(args.out / "reading-room-viewer.png"))

                page.keyboard.press("h")
                page.select_option("#preset", "lung")
                page.keyboard.press("b")
                expect(page.locator("#prior-canvas")).to_have_attribute(
                    "data-full-depth", "1", timeout=60_000
                )
                page.screenshot(path=str(args.out / "reading-room-priors.png"))
                browser.close()
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    for name in ("worklist", "viewer", "priors"):
        print(args.out / f"reading-room-{name}.png")


if __name__ == "__main__":
    main()
