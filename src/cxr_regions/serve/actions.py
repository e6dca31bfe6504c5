"""Routes that change state (login, upload, verdict; every one CSRF-checked) and the JSON and file
endpoints the pages poll or draw (worklist status, a film's probabilities, the film, heatmaps, export)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cxr_regions.regions import REGION_KEYS
from cxr_regions.serve import auth
from cxr_regions.serve.configuration import FILES_PER_UPLOAD
from cxr_regions.serve.views import PAGE_SIZE, film_summary, region_rows, worklist_query

router = APIRouter()
CSRF = [Depends(auth.csrf_protect)]
VERDICT_CHOICES = ("agree", "1", "u", "0")


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _film(request: Request, film_id: int):
    try:
        return request.app.state.store.film(film_id)
    except KeyError:
        raise HTTPException(404, f"no film {film_id}") from None


# --- JSON and files ------------------------------------------------------------------------------


@router.get("/api/worklist")
def api_worklist(
    request: Request, status: str = "all", region: str = "", sort: str = "suspicion", page: int = 1,
    reader: str = Depends(auth.reader),
) -> dict:  # fmt: skip
    """One page of the worklist, the counts, and each row's processing status (polled by the page)."""
    state = request.app.state
    films, total = state.store.worklist(
        **worklist_query(status, region, sort), offset=(max(1, page) - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return {
        "total": total,
        "page": max(1, page),
        "counts": state.store.counts(),
        "rows": [film_summary(f, state.thresholds.values) for f in films],
    }


@router.get("/api/pacs")
def api_pacs(request: Request, reader: str = Depends(auth.reader)) -> dict:
    """The PACS link's state (``serve --pacs``): each direction's status line and the counts."""
    link = request.app.state.pacs_link
    if link is None:
        raise HTTPException(404, "no PACS link: start serve with --pacs URL")
    return link.status()


@router.get("/api/films/{film_id}")
def api_film(request: Request, film_id: int, reader: str = Depends(auth.reader)) -> dict:
    """A film's status, probabilities, thresholds and calls, and the verdicts saved on it."""
    state = request.app.state
    film = _film(request, film_id)
    return {
        **film_summary(film, state.thresholds.values),
        "width": film.width,
        "height": film.height,
        "regions": region_rows(film, state.thresholds.values),
        "thresholds_source": state.thresholds.source,
        "calibrated": state.thresholds.calibrated,
        "verdicts": [
            {"reader": v.reader, "labels": v.labels, "note": v.note, "saved_at": v.saved_at.isoformat()}
            for v in state.store.verdicts(film_id)
        ],
    }


@router.get("/films/{film_id}/image.png")
def film_image(request: Request, film_id: int, reader: str = Depends(auth.reader)) -> FileResponse:
    """The stored film (de-identified PNG at its full stored resolution)."""
    film = _film(request, film_id)
    return FileResponse(
        Path(request.app.state.config.data) / film.png_path,
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=3600"},
    )


@router.get("/films/{film_id}/heatmaps/{region}.png")
async def film_heatmap(request: Request, film_id: int, region: str, reader: str = Depends(auth.reader)):
    """One region's heatmap as a transparent overlay PNG (all five computed on first request, cached)."""
    if region not in REGION_KEYS:
        raise HTTPException(404, f"unknown region {region!r}; the regions are {', '.join(REGION_KEYS)}")
    film = _film(request, film_id)
    try:
        path = await run_in_threadpool(request.app.state.worker.heatmap_path, film, region)
    except Exception as exc:
        raise HTTPException(
            409, f"no heatmap for this film: the model cannot read it ({type(exc).__name__})"
        ) from None
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/export/verdicts.csv")
def export(request: Request, reader: str = Depends(auth.reader)) -> Response:
    """Every saved verdict in labels.csv form (``cxr-regions verdicts export`` writes the same)."""
    from cxr_regions.serve.verdicts import export_verdicts

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "verdicts.csv"
        export_verdicts(request.app.state.store, out)
        body = out.read_bytes()
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="verdicts.csv"'},
    )


# --- state-changing (CSRF) -----------------------------------------------------------------------


@router.post("/login", dependencies=CSRF)
def login(
    request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/worklist")
) -> Response:
    from cxr_regions.serve.pages import _local_path, _page

    state = request.app.state
    if not state.config.logins:
        return RedirectResponse("/worklist", status_code=303)
    client = request.client.host if request.client else "?"
    wait = state.throttle.wait_seconds(username, client)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        error = f"too many wrong logins for this user; try again in about {minutes} minute(s)"
        return _page(request, "login.html", {"next": _local_path(next), "error": error}, status_code=429)
    if not username or not state.users.verify(username, password):
        state.throttle.failed(username, client)
        error = "wrong user name or password"
        return _page(request, "login.html", {"next": _local_path(next), "error": error}, status_code=401)
    state.throttle.succeeded(username, client)
    request.session.clear()
    request.session["user"] = username
    auth.csrf_token(request)
    return RedirectResponse(_local_path(next), status_code=303)


@router.post("/logout", dependencies=CSRF)
def logout(request: Request) -> RedirectResponse:
    request.session.clear()
    return RedirectResponse("/login" if request.app.state.config.logins else "/worklist", status_code=303)


@router.post("/upload", dependencies=CSRF)
def upload(
    request: Request, files: list[UploadFile] = File(...), report: str = Form(""),
    reader: str = Depends(auth.reader),
) -> Response:  # fmt: skip
    """Store one or many films (DICOM, PNG, JPEG); each is stored, recognised as a duplicate or
    refused with its reason. ``report``: an optional report text for the films of this upload."""
    state = request.app.state
    if len(files) > FILES_PER_UPLOAD:
        raise HTTPException(413, f"at most {FILES_PER_UPLOAD} files per upload; send the rest in another")
    outcomes = [
        state.intake.receive(item.file, item.filename or "", "upload", state.config.max_upload_bytes, report)
        for item in files
    ]
    results = [o.to_dict() for o in outcomes]
    if _wants_json(request):
        return JSONResponse({"results": results})
    from cxr_regions.serve.pages import _page

    return _page(request, "uploaded.html", {"results": results})


@router.post("/films/{film_id}/verdict", dependencies=CSRF)
async def verdict(request: Request, film_id: int, reader: str = Depends(auth.reader)) -> Response:
    """Save this reader's verdict (per region agree / 1 / u / 0, a note) and optionally mark the film read."""
    state = request.app.state
    form = await request.form()
    film = _film(request, film_id)
    rows = {r["key"]: r for r in region_rows(film, state.thresholds.values)}
    labels = {}
    for key in REGION_KEYS:
        choice = str(form.get(f"v_{key}", "agree"))
        if choice not in VERDICT_CHOICES:
            raise HTTPException(422, f"{key}: choose one of {', '.join(VERDICT_CHOICES)}, got {choice!r}")
        if choice == "agree":
            if rows[key]["call"] is None:
                raise HTTPException(409, f"{key}: the model has no call on this film yet; choose 1, u or 0")
            choice = rows[key]["call"]
        labels[key] = choice
    note = str(form.get("note", ""))[:2000]
    mark_read = str(form.get("mark_read", "")) in ("1", "on", "true")
    saved = await run_in_threadpool(state.store.save_verdict, film_id, reader, labels, note, mark_read)
    if _wants_json(request):
        return JSONResponse(
            {"saved": True, "reader": saved.reader, "labels": saved.labels, "read": mark_read}
        )
    filters = {k: str(form.get(k, "")) for k in ("status", "region", "sort")}
    query = urlencode({k: v for k, v in filters.items() if v})
    return RedirectResponse(f"/films/{film_id}?saved=1&{query}", status_code=303)
