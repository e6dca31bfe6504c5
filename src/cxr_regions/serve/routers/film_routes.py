"""One film: the viewer page, its JSON (probabilities, thresholds, calls, verdicts, the full-depth
film's windows and spacing, the patient's other films), the stored film (display PNG, full-depth 16-bit
PNG, downscaled first frame), the heatmaps as PNG, and marking it urgent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cxr_regions.regions import REGION_KEYS, REGIONS
from cxr_regions.report import highlight, parse_evidence, region_colours
from cxr_regions.serve.deps import (
    CSRF_CHECKED,
    ConfigDep,
    FilmDep,
    OpenedFilmDep,
    PagesDep,
    ReaderDep,
    StoreDep,
    ThresholdsDep,
    WantsJsonDep,
    WorkerDep,
)
from cxr_regions.serve.film_files import preview_file
from cxr_regions.serve.model import Thresholds
from cxr_regions.serve.records import FilmRecord
from cxr_regions.serve.store import Store
from cxr_regions.serve.views import (
    WorklistFilters,
    film_summary,
    film_urls,
    prior_rows,
    region_rows,
    saturation_notes,
    verdict_view,
)
from cxr_regions.serve.worklist import same_patient, saturated

router = APIRouter()
FiltersDep = Annotated[WorklistFilters, Depends()]
CACHED = {"Cache-Control": "private, max-age=3600"}
PICTURE_DEPTH = {
    "version": 1, "slope": 1.0, "intercept": 0.0, "photometric": "MONOCHROME2", "bits_stored": 8,
    "value_range": [0.0, 255.0], "windows": [], "luts": [], "default": "full",
    "presets": [
        {"key": "full", "name": "Full range", "center": 127.5, "width": 255.0, "function": "LINEAR_EXACT"}
    ],
    "pixel_spacing": None, "imager_pixel_spacing": None, "spacing": None,
}  # fmt: skip
"""What a picture (PNG/JPEG upload) offers the viewer: its 8-bit values, shown as they are."""


def depth_of(store: Store, film: FilmRecord) -> dict[str, Any]:
    """The film's full-depth header, or the picture's (its display PNG is then its values)."""
    header = store.film_depth(film.id) if film.full_depth_path else None
    return header or {**PICTURE_DEPTH, "width": film.width, "height": film.height}


def priors_of(store: Store, film: FilmRecord, thresholds: Thresholds) -> list[dict[str, Any]]:
    others = same_patient(store, film)
    verdicts = {other.id: store.verdicts(other.id) for other in others}
    return prior_rows(film, others, verdicts, thresholds.values)


def notes_of(store: Store, thresholds: Thresholds) -> list[str]:
    return saturation_notes(saturated(store, 0.0005, 0.9995), thresholds.calibrated)


@router.get("/films/{film_id}", response_class=HTMLResponse)
def viewer_page(
    request: Request, film: OpenedFilmDep, store: StoreDep, thresholds: ThresholdsDep, pages: PagesDep,
    reader: ReaderDep, filters: FiltersDep, saved: int = 0,
) -> HTMLResponse:  # fmt: skip
    """The film at its own bit depth with its regions' probabilities, calls and heatmaps, the report,
    the patient's other films and the verdict form; previous / next follow the worklist's filters."""
    previous, following = store.neighbours(film.id, **filters.store_query(), thresholds=thresholds.values)
    verdicts = store.verdicts(film.id)
    mine = next((v for v in verdicts if v.reader == reader), None)
    others = [v for v in verdicts if v.reader != reader]
    report = highlight(film.report_text, parse_evidence(film.report_evidence)) if film.report_text else None
    priors = priors_of(store, film, thresholds)
    query = filters.encoded()
    colours = region_colours()
    upcoming = store.film(following) if following is not None else None
    viewer: dict[str, Any] = {
        "id": film.id,
        "status": film.status,
        "width": film.width,
        "height": film.height,
        **film_urls(film),
        "depth": depth_of(store, film),
        "regions": [{"key": r.key, "en": r.en, "zh": r.zh, "colour": colours[r.key]} for r in REGIONS],
        "next": {"url": f"/films/{upcoming.id}?{query}", **film_urls(upcoming)} if upcoming else None,
        "previous": f"/films/{previous}?{query}" if previous is not None else None,
        "priors": priors,
        "mine": verdict_view(mine) if mine else None,
        "reader": reader,
    }
    return pages.render(
        request,
        "viewer.html",
        {
            "film": film_summary(film, thresholds.values),
            "size": {"width": film.width, "height": film.height},
            "regions": region_rows(film, thresholds.values),
            "colours": colours,
            "report": report,
            "mine": mine,
            "others": others,
            "previous": previous,
            "next": following,
            "query": query,
            "filters": filters.params(),
            "saved": bool(saved),
            "priors": priors,
            "notes": notes_of(store, thresholds),
            "viewer": viewer,
            "spacing": viewer["depth"].get("spacing"),
        },
    )


@router.get("/api/films/{film_id}")
def api_film(
    film: OpenedFilmDep, store: StoreDep, thresholds: ThresholdsDep, reader: ReaderDep
) -> dict[str, Any]:
    """A film's status, probabilities, thresholds and calls, the verdicts saved on it, where its
    full-depth PNG is with its windows and spacing, and the patient's other films."""
    depth = depth_of(store, film)
    return {
        **film_summary(film, thresholds.values),
        "width": film.width,
        "height": film.height,
        "regions": region_rows(film, thresholds.values),
        "thresholds_source": thresholds.source,
        "calibrated": thresholds.calibrated,
        "verdicts": [verdict_view(v) for v in store.verdicts(film.id)],
        **film_urls(film),
        "full_depth": depth,
        "windows": depth["windows"],
        "spacing": depth["spacing"],
        "priors": priors_of(store, film, thresholds),
        "processed_at": film.processed_at.isoformat() if film.processed_at else None,
    }


@router.get("/films/{film_id}/image.png")
def film_image(film: OpenedFilmDep, config: ConfigDep, reader: ReaderDep) -> FileResponse:
    """The stored display film (de-identified 8-bit PNG at its full stored resolution)."""
    return FileResponse(Path(config.data) / film.png_path, media_type="image/png", headers=CACHED)


@router.get("/films/{film_id}/full-depth.png")
def film_full_depth(film: OpenedFilmDep, config: ConfigDep, reader: ReaderDep) -> FileResponse:
    """The film at its stored resolution and bit depth, modality LUT applied: a 16-bit grayscale PNG
    (``value = png * slope + intercept``, from ``/api/films/{id}``'s ``full_depth``)."""
    if not film.full_depth_path:
        raise HTTPException(404, "this film was a picture (PNG/JPEG), not a DICOM: it has no full-depth copy")
    return FileResponse(Path(config.data) / film.full_depth_path, media_type="image/png", headers=CACHED)


@router.get("/films/{film_id}/first-frame.jpg")
async def film_first_frame(film: OpenedFilmDep, config: ConfigDep, reader: ReaderDep) -> FileResponse:
    """The film downscaled (longest side 1,024 px, default window): shown at once while it loads."""
    data = Path(config.data)
    path = await run_in_threadpool(preview_file, data, film.image_id, data / film.png_path)
    return FileResponse(path, media_type="image/jpeg", headers=CACHED)


@router.get("/films/{film_id}/heatmaps/{region}.png")
async def film_heatmap(film: FilmDep, region: str, worker: WorkerDep, reader: ReaderDep) -> FileResponse:
    """One region's heatmap as a transparent overlay PNG in the region's colour (all five computed on
    first request, cached)."""
    if region not in REGION_KEYS:
        raise HTTPException(404, f"unknown region {region!r}; the regions are {', '.join(REGION_KEYS)}")
    try:
        path = await run_in_threadpool(worker.heatmap_path, film, region)
    except Exception as exc:
        raise HTTPException(
            409, f"no heatmap for this film: the model cannot read it ({type(exc).__name__})"
        ) from None
    return FileResponse(path, media_type="image/png", headers=CACHED)


@router.post("/films/{film_id}/urgent", dependencies=CSRF_CHECKED)
async def film_urgent(
    request: Request, film: FilmDep, store: StoreDep, worker: WorkerDep, reader: ReaderDep, json: WantsJsonDep
) -> Response:
    """Mark a film urgent (``urgent=1``) or not (``urgent=0``): the model reads urgent films first."""
    form = await request.form()
    urgent = str(form.get("urgent", "1")) in ("1", "on", "true")
    await run_in_threadpool(store.set_urgent, film.id, urgent)
    worker.wake()
    if json:
        return JSONResponse({"id": film.id, "urgent": urgent})
    return RedirectResponse(f"/films/{film.id}", status_code=303)
