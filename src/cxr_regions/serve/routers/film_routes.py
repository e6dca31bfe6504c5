"""One film: the viewer page, its JSON (probabilities, thresholds, calls, verdicts), the stored film and
the heatmaps as PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse
from starlette.concurrency import run_in_threadpool

from cxr_regions.regions import REGION_KEYS
from cxr_regions.serve.deps import (
    ConfigDep,
    FilmDep,
    OpenedFilmDep,
    PagesDep,
    ReaderDep,
    StoreDep,
    ThresholdsDep,
    WorkerDep,
)
from cxr_regions.serve.views import film_summary, region_rows, worklist_query

router = APIRouter()


@router.get("/films/{film_id}", response_class=HTMLResponse)
def viewer_page(
    request: Request, film: OpenedFilmDep, store: StoreDep, thresholds: ThresholdsDep, pages: PagesDep,
    reader: ReaderDep, status: str = "all", region: str = "", sort: str = "suspicion", saved: int = 0,
) -> HTMLResponse:  # fmt: skip
    """The film with its regions' probabilities, calls and heatmaps, the report, and the verdict form;
    previous / next follow the worklist's filters."""
    from cxr_regions.report import highlight, parse_evidence

    query = worklist_query(status, region, sort)
    previous, following = store.neighbours(film.id, **query, thresholds=thresholds.values)
    verdicts = store.verdicts(film.id)
    mine = next((v for v in verdicts if v.reader == reader), None)
    others = [v for v in verdicts if v.reader != reader]
    report = highlight(film.report_text, parse_evidence(film.report_evidence)) if film.report_text else None
    filters = {"status": status, "region": region, "sort": sort}
    return pages.render(
        request,
        "viewer.html",
        {
            "film": film_summary(film, thresholds.values),
            "size": {"width": film.width, "height": film.height},
            "regions": region_rows(film, thresholds.values),
            "report": report,
            "mine": mine,
            "others": others,
            "previous": previous,
            "next": following,
            "query": urlencode(filters),
            "filters": filters,
            "saved": bool(saved),
        },
    )


@router.get("/api/films/{film_id}")
def api_film(
    film: OpenedFilmDep, store: StoreDep, thresholds: ThresholdsDep, reader: ReaderDep
) -> dict[str, Any]:
    """A film's status, probabilities, thresholds and calls, and the verdicts saved on it."""
    return {
        **film_summary(film, thresholds.values),
        "width": film.width,
        "height": film.height,
        "regions": region_rows(film, thresholds.values),
        "thresholds_source": thresholds.source,
        "calibrated": thresholds.calibrated,
        "verdicts": [
            {"reader": v.reader, "labels": v.labels, "note": v.note, "saved_at": v.saved_at.isoformat()}
            for v in store.verdicts(film.id)
        ],
    }


@router.get("/films/{film_id}/image.png")
def film_image(film: OpenedFilmDep, config: ConfigDep, reader: ReaderDep) -> FileResponse:
    """The stored film (de-identified PNG at its full stored resolution)."""
    return FileResponse(
        Path(config.data) / film.png_path,
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.get("/films/{film_id}/heatmaps/{region}.png")
async def film_heatmap(film: FilmDep, region: str, worker: WorkerDep, reader: ReaderDep) -> FileResponse:
    """One region's heatmap as a transparent overlay PNG (all five computed on first request, cached)."""
    if region not in REGION_KEYS:
        raise HTTPException(404, f"unknown region {region!r}; the regions are {', '.join(REGION_KEYS)}")
    try:
        path = await run_in_threadpool(worker.heatmap_path, film, region)
    except Exception as exc:
        raise HTTPException(
            409, f"no heatmap for this film: the model cannot read it ({type(exc).__name__})"
        ) from None
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
