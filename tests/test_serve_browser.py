"""The reading room in a real Chromium (Playwright, the system's /usr/bin/chromium): log in, upload a
phantom DICOM, see it on the worklist, open the viewer, zoom, window, toggle an overlay, set a
verdict, mark read, export and find the verdict; a second browser context without login is refused."""

from __future__ import annotations

import csv
import io
import signal
from pathlib import Path

import pytest

from helpers.serve import free_port, make_phantom_dicoms, start_server, wait_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
PASSWORD = "a long enough password"


@pytest.fixture
def room(trained_run, tmp_path):
    from cxr_regions.serve.users import add_user

    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium); the browser test needs it"
        )
    pytest.importorskip("playwright.sync_api")
    users = tmp_path / "users.yaml"
    add_user(users, "dr_zhao", PASSWORD)
    port, log = free_port(), tmp_path / "serve.log"
    process = start_server(trained_run, tmp_path / "room", port, log, "--users", str(users))
    try:
        wait_server(port, process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)


def test_read_a_film_in_the_browser_from_login_to_export(room, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    dicoms, _ = make_phantom_dicoms(tmp_path / "phantom", n=1, seed=21)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{room}/worklist")
            expect(page).to_have_url(f"{room}/login?next=/worklist")
            page.fill("input[name=username]", "dr_zhao")
            page.fill("input[name=password]", PASSWORD)
            page.click("form.login button[type=submit]")
            expect(page).to_have_url(f"{room}/worklist")

            page.set_input_files("#files", str(dicoms[0]))
            page.click("#upload-form button[type=submit]")
            expect(page.locator("#upload-log")).to_contain_text("stored")
            row = page.locator("#worklist tbody tr[data-status=ready]")
            expect(row).to_have_count(1, timeout=120_000)  # the poll shows the model's result, no reload
            row.locator("a").click()

            canvas = page.locator("#film-canvas")
            expect(canvas).to_have_attribute("data-ready", "1")
            scale = float(canvas.get_attribute("data-scale"))
            box = canvas.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.wheel(0, -400)
            expect(canvas).not_to_have_attribute("data-scale", f"{scale:.4f}")
            assert float(canvas.get_attribute("data-scale")) > scale

            before = canvas.get_attribute("data-window")
            page.keyboard.down("Shift")
            page.mouse.move(box["x"] + 300, box["y"] + 300)
            page.mouse.down()
            page.mouse.move(box["x"] + 200, box["y"] + 360, steps=5)
            page.mouse.up()
            page.keyboard.up("Shift")
            expect(canvas).not_to_have_attribute("data-window", before)
            page.keyboard.press("w")  # back to the film's own window
            expect(canvas).to_have_attribute("data-window", before)

            page.keyboard.press("4")  # heart, the fourth region
            expect(canvas).to_have_attribute("data-overlays", "heart")
            expect(canvas).to_have_attribute("data-loaded", " heart", timeout=60_000)
            expect(page.locator("#ov-heart")).to_be_checked()
            page.keyboard.press("h")
            expect(canvas).to_have_attribute("data-overlays", "")

            page.check("input[name=v_heart][value='1']")
            page.check("input[name=v_lungs][value=u]")
            page.fill("textarea[name=note]", "seen in the browser")
            page.check("input[name=mark_read]")
            page.click("#save-verdict")
            expect(page.locator("#verdict-status")).to_contain_text("Verdict saved")
            expect(page.locator("#read-state")).to_have_text("read")

            accession = page.locator("#accession").inner_text()
            exported = page.request.get(f"{room}/export/verdicts.csv")
            rows = list(csv.DictReader(io.StringIO(exported.text())))
            mine = [r for r in rows if r["report_id"] == accession]
            assert len(mine) == 1 and mine[0]["heart"] == "1" and mine[0]["lungs"] == "u"
            assert mine[0]["reader"] == "dr_zhao"
            assert errors == []

            stranger = browser.new_context()
            other = stranger.new_page()
            other.goto(f"{room}/worklist")
            expect(other).to_have_url(f"{room}/login?next=/worklist")
            assert other.request.get(f"{room}/api/worklist").status == 401
            assert other.request.get(f"{room}/export/verdicts.csv").status == 401
        finally:
            browser.close()
