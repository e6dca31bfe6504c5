"""The diagnostic viewer in a real Chromium (Playwright, the system's /usr/bin/chromium) against a real
``cxr-regions serve`` with real DICOMs: the film's own values under the cursor, windows as pydicom
applies them, a faint disc brought out by a narrow window, the aspect kept through toolbar wraps and
resizes, the ruler in mm, a verdict by keys only (and the cardiothoracic ratio) saved and exported,
drafts kept when leaving, priors of the same patient, urgent films read first, and the worklist's
search, sort and paging. One server and one browser for the module."""

from __future__ import annotations

import csv
import io
import re
import signal
from datetime import datetime
from pathlib import Path

import cv2
import httpx
import numpy as np
import pydicom
import pytest

from helpers import shared_path
from helpers.pacs import tiny_run
from helpers.serve import free_port, make_phantom_dicoms, start_server, wait_ready, wait_server
from helpers.viewer_films import BACKGROUND, DISC, pydicom_shown, qa_dicom

pytestmark = pytest.mark.slow  # a real Chromium against a serve process

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--force-device-scale-factor=1",
]  # fmt: skip
TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


class Room:
    """The running reading room: its URL, an HTTP client with the session's CSRF token, its films."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.client = httpx.Client(base_url=url, timeout=120.0)
        self.token = TOKEN.search(self.client.get("/worklist").text).group(1)

    def upload(self, *paths: Path, urgent: bool = False) -> list[int]:
        ids = []
        for start in range(0, len(paths), 20):
            files = [
                ("files", (p.name, p.read_bytes(), "application/octet-stream"))
                for p in paths[start : start + 20]
            ]
            response = self.client.post(
                "/upload", files=files, data={"csrf": self.token, "urgent": "1" if urgent else ""},
                headers={"Accept": "application/json"},
            )  # fmt: skip
            assert response.status_code == 200, response.text
            results = response.json()["results"]
            assert all(r["status"] == "stored" for r in results), results
            ids += [r["film_id"] for r in results]
        return ids

    def post(self, path: str, **data: str) -> httpx.Response:
        headers = {"Accept": "application/json", "X-CSRF-Token": self.token}
        return self.client.post(path, data={"csrf": self.token, **data}, headers=headers)


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); the viewer tests need it")
    pytest.importorskip("playwright.sync_api")
    folder = tmp_path_factory.mktemp("viewer")
    run = tiny_run(folder / "model")  # random weights: the viewer needs the model to run, not to be right
    port, log = free_port(), folder / "serve.log"
    process = start_server(run, folder / "room", port, log)
    try:
        wait_server(port, process, log)
        yield Room(f"http://127.0.0.1:{port}", folder)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)


@pytest.fixture(scope="module")
def browser(room):
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@pytest.fixture(scope="module")
def qa_films(room):
    """The QA film (12-bit, PixelSpacing) and its twin with a VOI LUT Sequence, on the worklist."""
    plain, layout = qa_dicom(room.folder / "qa" / "plain.dcm")
    qa_dicom(room.folder / "qa" / "lut.dcm", voi_lut=True)
    ids = room.upload(room.folder / "qa" / "plain.dcm", room.folder / "qa" / "lut.dcm")
    return {"plain": ids[0], "lut": ids[1], "stored": plain, "layout": layout}


def open_viewer(browser, room, film_id: int, width: int = 1400, height: int = 900, query: str = ""):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{room.url}/films/{film_id}{query}")
    expect(page.locator("#film-canvas")).to_have_attribute("data-full-depth", "1", timeout=60_000)
    page.errors = errors
    return page


def drawn(page) -> tuple[float, float, float, float]:
    """Where the viewer says it drew the film in the canvas: x, y, width, height (CSS pixels)."""
    return tuple(float(v) for v in page.locator("#film-canvas").get_attribute("data-drawn").split(","))


def canvas_pixels(page) -> tuple[np.ndarray, dict]:
    """A screenshot of the canvas as grey levels, and the canvas's box on the page."""
    canvas = page.locator("#film-canvas")
    box = canvas.bounding_box()
    shot = cv2.imdecode(np.frombuffer(canvas.screenshot(), np.uint8), cv2.IMREAD_GRAYSCALE)
    return shot, box


def at_film(grey: np.ndarray, page, shape: tuple[int, int]) -> np.ndarray:
    """The screen pixels of a film drawn at 1:1, taken from a canvas screenshot at the viewer's own
    placement, give or take the one pixel an element screenshot may round its clip by."""
    x0, y0, _, _ = (round(v) for v in drawn(page))
    rows, cols = shape
    best = None
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            y, x = y0 + dy, x0 + dx
            if y < 0 or x < 0 or y + rows > grey.shape[0] or x + cols > grey.shape[1]:
                continue
            window = grey[y : y + rows, x : x + cols].astype(int)
            black_edge = int((window[0] == 0).all()) + int((window[-1] == 0).all())
            black_edge += int((window[:, 0] == 0).all()) + int((window[:, -1] == 0).all())
            if best is None or black_edge < best[0]:
                best = (black_edge, window)
    return best[1]


def film_box(grey: np.ndarray) -> tuple[int, int, int, int]:
    """The bounding box (x0, y0, x1, y1, exclusive) of the film on its black ground: the rows and columns
    mostly of film greys (not black, not the page's light background showing at the rounded corners)."""
    film = (grey > 40) & (grey < 235)
    xs, ys = np.nonzero(film.mean(axis=0) > 0.3)[0], np.nonzero(film.mean(axis=1) > 0.3)[0]
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def test_the_pixel_value_under_the_cursor_is_the_stored_value_of_a_real_15_bit_film(room, browser):
    path = shared_path("dicom", "RG1_UNCI.dcm")
    stored = pydicom.dcmread(path).pixel_array
    [film_id] = room.upload(path)
    page = open_viewer(browser, room, film_id)
    box = page.locator("#film-canvas").bounding_box()
    x0, y0, w, _ = drawn(page)
    scale = w / stored.shape[1]
    rng = np.random.default_rng(3)
    for fx, fy in [(0, 0), (stored.shape[1] - 1, stored.shape[0] - 1), *rng.integers(0, 1841, (6, 2))]:
        fy = min(int(fy), stored.shape[0] - 1)
        sx, sy = box["x"] + x0 + (fx + 0.5) * scale, box["y"] + y0 + (fy + 0.5) * scale
        page.mouse.move(sx, sy)
        x, y, value = (float(v) for v in page.locator("#film-canvas").get_attribute("data-pixel").split(","))
        assert abs(x - fx) <= 1 and abs(y - fy) <= 1, (fx, fy, x, y)
        assert value == stored[int(y), int(x)]  # the stored 16-bit value itself, not a display grey
        assert f"{int(value)}" in page.locator("#pixel-readout").inner_text()
    assert page.errors == []
    page.close()


def test_the_default_window_is_pydicoms_voi_and_a_narrow_window_brings_out_a_faint_disc(
    room, browser, qa_films
):
    lut = pydicom.dcmread(room.folder / "qa" / "lut.dcm")
    for key, ds in (("lut", lut), ("plain", pydicom.dcmread(room.folder / "qa" / "plain.dcm"))):
        page = open_viewer(browser, room, qa_films[key])
        assert page.locator("#film-canvas").get_attribute("data-preset") == (
            "lut:0" if key == "lut" else "window:0"
        )
        page.keyboard.press("z")  # 1:1: one film pixel per screen pixel
        grey, _ = canvas_pixels(page)
        screen = at_film(grey, page, (ds.Rows, ds.Columns))
        expected = np.rint(pydicom_shown(ds) * 255)
        assert screen.shape == expected.shape
        assert np.abs(screen - expected).max() <= 1, key  # pydicom's apply_voi_lut, grey level for grey level
        page.close()

    page = open_viewer(browser, room, qa_films["plain"])
    page.keyboard.press("z")
    cx, cy, r = qa_films["layout"].disc
    background = int(qa_films["stored"][cy - r - 10, cx])

    def contrast() -> int:
        grey, _ = canvas_pixels(page)
        screen = at_film(grey, page, qa_films["stored"].shape)
        return int(screen[cy, cx]) - int(screen[cy - r - 10, cx])

    assert abs(contrast()) <= 2  # the file's 4096-wide window: 8 levels are half a grey level
    page.fill("#ww", "32")
    page.fill("#wl", str(background + DISC // 2))
    page.locator("#wl").press("Tab")
    from playwright.sync_api import expect

    expect(page.locator("#film-canvas")).to_have_attribute("data-window", f"32/{background + DISC // 2}/0")
    assert contrast() >= 50
    assert qa_films["stored"][cy, cx] - background == DISC and abs(background - BACKGROUND) <= 150
    page.close()


def test_the_film_keeps_its_aspect_after_a_toolbar_wrap_and_a_resize(room, browser, qa_films):
    page = open_viewer(browser, room, qa_films["plain"])
    toolbar = page.locator(".toolbar")
    one_row = toolbar.bounding_box()["height"]
    aspects = []
    for size in (
        {"width": 1400, "height": 900},
        {"width": 900, "height": 900},
        {"width": 1100, "height": 620},
    ):
        page.set_viewport_size(size)
        page.wait_for_timeout(50)  # a frame for the resize observer (the check below is on the screen)
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        grey, _ = canvas_pixels(page)
        x0, y0, x1, y1 = film_box(grey)
        aspects.append((x1 - x0) / (y1 - y0))
        if size["width"] == 900:
            assert toolbar.bounding_box()["height"] > one_row * 1.5  # it wrapped
    for aspect in aspects:
        assert abs(aspect / 1.5 - 1) <= 0.005, aspects  # the film is 600 x 400
    assert "zoom" in page.locator("#zoom-readout").inner_text()
    page.close()


def test_the_ruler_reads_a_known_distance_in_mm(room, browser, qa_films):
    ds = pydicom.dcmread(room.folder / "qa" / "plain.dcm")
    spacing = float(ds.PixelSpacing[1])
    (ax, _), (bx, _) = qa_films["layout"].markers
    truth = (bx - ax) * spacing
    page = open_viewer(browser, room, qa_films["plain"])
    grey, box = canvas_pixels(page)
    marks = (grey > 250).astype(np.uint8)  # the two bright squares, found on the screen
    count, _, _, centres = cv2.connectedComponentsWithStats(marks)
    (p1, p2) = sorted((tuple(c) for c in centres[1:count]), key=lambda c: c[0])[:2]
    page.keyboard.press("m")
    page.mouse.move(box["x"] + p1[0], box["y"] + p1[1])
    page.mouse.down()
    page.mouse.move(box["x"] + p2[0], box["y"] + p2[1], steps=5)
    page.mouse.up()
    measured = float(page.locator("#film-canvas").get_attribute("data-ruler-mm"))
    assert abs(measured / truth - 1) <= 0.01, (measured, truth)
    assert "mm" in page.locator("#measure-readout").inner_text()
    page.close()


def ready_films(room, n: int, seed: int) -> tuple[list[int], Path]:
    dicoms, folder = make_phantom_dicoms(room.folder / f"phantom-{seed}", n=n, seed=seed)
    ids = room.upload(*dicoms)
    for film_id in ids:
        wait_ready(room.client, film_id)
    return ids, folder


def test_a_verdict_by_keys_only_and_a_cardiothoracic_ratio_are_saved_and_exported(room, browser):
    from playwright.sync_api import expect

    [film_id], _ = ready_films(room, 1, seed=31)
    page = open_viewer(browser, room, film_id)
    for key in ("A", "j", "x", "u", "e"):  # agree on all; lungs abnormal; aorta uncertain; the note
        page.keyboard.press(key)
    page.keyboard.type("read by keys")
    page.keyboard.press("Escape")
    page.keyboard.press("r")
    box = page.locator("#film-canvas").bounding_box()
    x0, y0, w, h = drawn(page)
    left, top = box["x"] + x0, box["y"] + y0
    page.keyboard.press("c")  # the heart's width, then the thorax's, dragged on the film
    for a, b in (((0.35, 0.6), (0.65, 0.62)), ((0.15, 0.7), (0.9, 0.7))):
        page.mouse.move(left + a[0] * w, top + a[1] * h)
        page.mouse.down()
        page.mouse.move(left + b[0] * w, top + b[1] * h, steps=4)
        page.mouse.up()
    expect(page.locator("#ctr-value")).to_have_text("0.40")
    page.keyboard.press("s")
    expect(page.locator("#verdict-status")).to_contain_text("Verdict saved")
    expect(page.locator("#read-state")).to_have_text("read")
    film = room.client.get(f"/api/films/{film_id}").json()
    calls = {r["key"]: r["call"] for r in film["regions"]}
    rows = list(csv.DictReader(io.StringIO(room.client.get("/export/verdicts.csv").text)))
    mine = [r for r in rows if r["report_id"] == film["accession"]]
    assert len(mine) == 1 and mine[0]["lungs"] == "1" and mine[0]["aorta"] == "u"
    assert mine[0]["heart"] == calls["heart"] and mine[0]["note"] == "read by keys"
    assert abs(float(mine[0]["cardiothoracic_ratio"]) - 0.4) < 0.01
    assert film["read"] and film["verdicts"][0]["measurements"]["thorax"]
    # "read" goes both ways
    page.keyboard.press("r")
    page.keyboard.press("s")
    expect(page.locator("#read-state")).to_have_text("new")
    # arrow keys on a focused radio button never change the verdict silently
    page.locator("input[name=v_lungs][value='1']").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.locator("input[name=v_lungs][value='1']").is_checked()
    expect(page.locator("#verdict-form")).to_have_attribute("data-dirty", "0")
    page.reload()  # the saved ratio and its widths come back, and nothing is left unsaved
    expect(page.locator("#film-canvas")).to_have_attribute("data-full-depth", "1")
    expect(page.locator("#ctr-value")).to_have_text("0.40")
    assert page.locator("#verdict-form").get_attribute("data-dirty") in (None, "0")
    assert page.errors == []
    page.close()


def test_leaving_with_unsaved_changes_keeps_them_as_a_draft(room, browser):
    from playwright.sync_api import expect

    ids, _ = ready_films(room, 2, seed=32)
    query = "?sort=received&order=asc"
    page = open_viewer(browser, room, ids[0], query=query)
    page.keyboard.press("o")  # thorax normal: changed, not saved
    expect(page.locator("#verdict-form")).to_have_attribute("data-dirty", "1")
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(rf"/films/{ids[1]}\?"))
    page.locator("#film-canvas[data-full-depth='1']").wait_for()
    page.keyboard.press("p")
    expect(page).to_have_url(re.compile(rf"/films/{ids[0]}\?"))
    expect(page.locator("#verdict-status")).to_contain_text("Draft restored")
    assert page.locator("input[name=v_thorax][value='0']").is_checked()
    page.goto(f"{room.url}/worklist?sort=received&order=asc")
    expect(page.locator(f"#worklist tr[data-id='{ids[0]}'] .draft")).to_have_count(1)
    page.close()


def test_the_patients_other_films_are_shown_with_their_days_and_verdicts(room, browser):
    from playwright.sync_api import expect

    ids, folder = ready_films(room, 6, seed=11)
    truth = {r["accession_number"]: r for r in csv.DictReader((folder / "truth.csv").open(encoding="utf-8"))}
    films = {i: room.client.get(f"/api/films/{i}").json() for i in ids}
    by_patient: dict[str, list[int]] = {}
    for i, f in films.items():
        by_patient.setdefault(truth[f["accession"]]["patient_id"], []).append(i)
    pair = next(v for v in by_patient.values() if len(v) >= 2)
    day = {}
    for path in folder.joinpath("dicom").rglob("*"):
        if path.is_file():
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            day[ds.AccessionNumber] = datetime.strptime(ds.StudyDate, "%Y%m%d").date()
    current, prior = sorted(pair, key=lambda i: day[films[i]["accession"]], reverse=True)[:2]
    gap = (day[films[current]["accession"]] - day[films[prior]["accession"]]).days
    assert gap > 0
    labels = {"v_thorax": "1", "v_lungs": "0", "v_aorta": "0", "v_heart": "0", "v_diaphragm": "0"}
    assert room.post(f"/films/{prior}/verdict", **labels).status_code == 200
    page = open_viewer(browser, room, current)
    item = page.locator(f"#priors li[data-id='{prior}']")
    expect(item).to_contain_text(f"{gap} days earlier")
    expect(item).to_contain_text("thorax 1")
    page.keyboard.press("b")  # the prior beside this film
    expect(page.locator("#prior-canvas")).to_have_attribute("data-full-depth", "1", timeout=60_000)
    assert page.locator("#prior-pane").is_visible()
    api = room.client.get(f"/api/films/{current}").json()
    assert [p["days"] for p in api["priors"] if p["id"] == prior] == [-gap]
    page.close()


def test_an_urgent_film_uploaded_after_fifty_normal_ones_is_read_first(room, browser):
    from playwright.sync_api import expect

    for i in range(50):
        qa_dicom(room.folder / "queue" / f"n{i:02d}.dcm", 48, 32, seed=100 + i, patient=f"Q{i}")
    qa_dicom(room.folder / "queue" / "urgent.dcm", 48, 32, seed=999, patient="QURGENT")
    assert room.post("/api/queue/pause").json() == {"paused": True}
    try:
        waiting = room.upload(*sorted((room.folder / "queue").glob("n*.dcm")))
        [urgent] = room.upload(room.folder / "queue" / "urgent.dcm", urgent=True)
        listed = room.client.get("/api/worklist").json()
        assert listed["paused"] and listed["rows"][0]["id"] == urgent and listed["rows"][0]["urgent"]
        assert all(
            room.client.get(f"/api/films/{i}").json()["status"] == "queued" for i in (*waiting[:3], urgent)
        )
        page = open_viewer(browser, room, urgent)  # not read by the model yet: open and read it anyway
        expect(page.locator("#proc-status")).to_have_text("queued")
        assert page.locator("input[name=v_heart][value=agree]").is_disabled()
    finally:
        assert room.post("/api/queue/resume").json() == {"paused": False}
    expect(page.locator("#proc-status")).to_have_text("ready", timeout=60_000)  # shown without a reload
    assert page.locator("input[name=v_heart][value=agree]").is_enabled()
    page.close()
    done = {i: wait_ready(room.client, i)["processed_at"] for i in (*waiting, urgent)}
    assert done[urgent] < min(done[i] for i in waiting)


def test_the_worklist_searches_by_accession_sorts_by_any_column_and_says_when_a_page_is_past_the_end(
    room, qa_films
):
    found = room.client.get("/api/worklist", params={"q": "QA000000"}).json()
    assert {r["id"] for r in found["rows"]} == {qa_films["plain"], qa_films["lut"]}
    assert (
        room.client.get("/api/worklist", params={"q": "no-such-accession"})
        .json()["message"]
        .startswith("No film")
    )
    for order in ("asc", "desc"):
        rows = room.client.get("/api/worklist", params={"sort": "accession", "order": order}).json()["rows"]
        accessions = [r["accession"] for r in rows]
        assert accessions == sorted(accessions, reverse=order == "desc")
    past = room.client.get("/api/worklist", params={"page": 99}).json()
    assert past["rows"] == [] and "past the last page" in past["message"]
    page = room.client.get("/worklist", params={"page": 99}).text
    assert "past the last page" in page and "No films here yet" not in page
    for sort in ("received", "state", "status", "urgent", "suspicion", "heart"):
        assert room.client.get("/api/worklist", params={"sort": sort}).status_code == 200


def test_the_browsers_png_decoder_reads_every_filter_and_both_depths_exactly(room, browser):
    import base64

    rng = np.random.default_rng(5)
    page = browser.new_page()
    page.goto(f"{room.url}/healthz")
    cases = []
    for depth, dtype in ((8, np.uint8), (16, np.uint16)):
        smooth = np.add.outer(np.arange(37), np.arange(53)) * (40 if depth == 16 else 2)
        image = (smooth + rng.integers(0, 9 if depth == 8 else 900, smooth.shape)).astype(dtype)
        for name in ("NONE", "SUB", "UP", "AVG", "PAETH"):
            flag = getattr(cv2, f"IMWRITE_PNG_FILTER_{name}")
            ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_FILTER, flag])
            assert ok
            cases.append((f"{depth}-bit {name}", image, base64.b64encode(buf.tobytes()).decode()))
    decoded = page.evaluate(
        """async (pngs) => {
            const { decodeGrayPng } = await import("/static/png.js");
            const out = [];
            for (const b64 of pngs) {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                const png = await decodeGrayPng(bytes.buffer);
                out.push([png.width, png.height, png.depth, Array.from(png.data)]);
            }
            return out;
        }""",
        [b64 for _, _, b64 in cases],
    )
    for (label, image, _), (width, height, depth, values) in zip(cases, decoded, strict=True):
        assert (width, height, depth) == (53, 37, image.itemsize * 8), label
        assert np.array_equal(np.asarray(values).reshape(image.shape), image), label
    page.close()
