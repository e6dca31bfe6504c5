"""The radiologists' verdicts: saving one (per region agree / 1 / u / 0, a note, mark read), the
labels.csv-format export, and the model-vs-radiologists agreement page."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cxr_regions.contracts.names import VERDICTS_CSV
from cxr_regions.regions import REGION_KEYS
from cxr_regions.serve.audit import Action
from cxr_regions.serve.deps import (
    CSRF_CHECKED,
    ActorDep,
    AuditDep,
    FilmDep,
    PagesDep,
    ReaderDep,
    StoreDep,
    ThresholdsDep,
    WantsJsonDep,
)
from cxr_regions.serve.verdicts import agreement, export_verdicts
from cxr_regions.serve.views import region_rows

router = APIRouter()
VERDICT_CHOICES = ("agree", "1", "u", "0")


@router.post("/films/{film_id}/verdict", dependencies=CSRF_CHECKED)
async def verdict(
    request: Request, film: FilmDep, store: StoreDep, thresholds: ThresholdsDep, reader: ReaderDep,
    json: WantsJsonDep, actor: ActorDep,
) -> Response:  # fmt: skip
    """Save this reader's verdict (per region agree / 1 / u / 0, a note) and optionally mark the film
    read; ``agree`` takes the model's call as the viewer shows it. The audit trail gets the old and
    new values in the same transaction."""
    form = await request.form()
    calls = {r["key"]: r["call"] for r in region_rows(film, thresholds.values)}
    labels = {}
    for key in REGION_KEYS:
        choice = str(form.get(f"v_{key}", "agree"))
        if choice not in VERDICT_CHOICES:
            raise HTTPException(422, f"{key}: choose one of {', '.join(VERDICT_CHOICES)}, got {choice!r}")
        if choice == "agree":
            if calls[key] is None:
                raise HTTPException(409, f"{key}: the model has no call on this film yet; choose 1, u or 0")
            choice = calls[key]
        labels[key] = choice
    note = str(form.get("note", ""))[:2000]
    mark_read = str(form.get("mark_read", "")) in ("1", "on", "true")
    saved = await run_in_threadpool(store.save_verdict, film.id, reader, labels, note, mark_read, actor)
    if json:
        return JSONResponse(
            {"saved": True, "reader": saved.reader, "labels": saved.labels, "read": mark_read}
        )
    filters = {k: str(form.get(k, "")) for k in ("status", "region", "sort")}
    query = urlencode({k: v for k, v in filters.items() if v})
    return RedirectResponse(f"/films/{film.id}?saved=1&{query}", status_code=303)


@router.get("/export/verdicts.csv")
def export(store: StoreDep, reader: ReaderDep, audit: AuditDep, actor: ActorDep) -> Response:
    """Every saved verdict in labels.csv form (``cxr-regions verdicts export`` writes the same)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / VERDICTS_CSV
        rows = export_verdicts(store, out)
        body = out.read_bytes()
    audit.record(Action.EXPORT, actor, detail={"what": "verdicts", "rows": rows})
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="verdicts.csv"'},
    )


@router.get("/agreement", response_class=HTMLResponse)
def agreement_page(
    request: Request, store: StoreDep, thresholds: ThresholdsDep, pages: PagesDep, reader: ReaderDep
) -> HTMLResponse:
    """Per region, the model's calls against the saved verdicts (sensitivity, specificity)."""
    table = agreement(store, thresholds.values)
    return pages.render(request, "agreement.html", {"table": table, "counts": store.counts()})
