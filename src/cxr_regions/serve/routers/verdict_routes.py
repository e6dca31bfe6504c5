"""The radiologists' verdicts: saving one (per region agree / 1 / u / 0, a note, the cardiothoracic
ratio, read or unread, optionally then the next film), the labels.csv-format export, and the
model-vs-radiologists agreement page."""

from __future__ import annotations

import json as jsonlib
import math
import tempfile
from pathlib import Path
from typing import Any
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
from cxr_regions.serve.views import WorklistFilters, region_rows

router = APIRouter()
VERDICT_CHOICES = ("agree", "1", "u", "0")


def read_state(form: Any) -> bool | None:
    """The film's read state from the form: with ``read_shown`` (the viewer's checkbox was on the form)
    ticked is read and unticked unread; without it, ``mark_read`` only ever marks read."""
    ticked = str(form.get("mark_read", "")) in ("1", "on", "true")
    if str(form.get("read_shown", "")) == "1":
        return ticked
    return True if ticked else None


def ratio_of(form: Any) -> tuple[float | None, dict | None]:
    """The cardiothoracic ratio and the two widths it was measured from (JSON), where given."""
    text = str(form.get("cardiothoracic_ratio", "") or "").strip()
    if not text:
        return None, None
    try:
        ratio = float(text)
    except ValueError:
        raise HTTPException(422, f"cardiothoracic_ratio must be a number, got {text[:20]!r}") from None
    if not math.isfinite(ratio) or not 0 < ratio <= 1:
        raise HTTPException(422, f"a cardiothoracic ratio (heart / thorax width) lies in (0, 1], got {ratio}")
    try:
        widths = jsonlib.loads(str(form.get("ctr_widths", "") or "null"))
    except ValueError:
        raise HTTPException(422, "ctr_widths must be JSON (the two widths in film pixels)") from None
    return round(ratio, 4), widths if isinstance(widths, dict) else None


@router.post("/films/{film_id}/verdict", dependencies=CSRF_CHECKED)
async def verdict(
    request: Request, film: FilmDep, store: StoreDep, thresholds: ThresholdsDep, reader: ReaderDep,
    json: WantsJsonDep, actor: ActorDep,
) -> Response:  # fmt: skip
    """Save this reader's verdict (per region agree / 1 / u / 0, a note, a cardiothoracic ratio) and
    the film's read state; ``agree`` takes the model's call as the viewer shows it. ``and_next=1``: go
    on to the next film of the worklist (with the form's filters) afterwards. The audit trail gets the
    old and new values in the same transaction."""
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
    read = read_state(form)
    ratio, widths = ratio_of(form)
    saved = await run_in_threadpool(
        store.save_verdict, film.id, reader, labels, note, read, actor, ratio, widths
    )
    fields = ("status", "region", "q", "sort", "order")
    filters = WorklistFilters(**{k: str(form.get(k, "") or "") for k in fields})
    query = filters.encoded()
    following = None
    if str(form.get("and_next", "")) == "1":
        _, following = store.neighbours(film.id, **filters.store_query(), thresholds=thresholds.values)
    next_url = f"/films/{following}?{query}" if following is not None else None
    if json:
        read_now = store.film(film.id).read
        return JSONResponse(
            {
                "saved": True, "reader": saved.reader, "labels": saved.labels, "read": read_now,
                "cardiothoracic_ratio": saved.cardiothoracic_ratio, "next_url": next_url,
            }
        )  # fmt: skip
    back = f"/films/{film.id}?{urlencode({'saved': 1})}&{query}"
    return RedirectResponse(next_url or back, status_code=303)


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
