"""The HTML pages: worklist, viewer, agreement, login."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxr_regions.serve import auth
from cxr_regions.serve.views import PAGE_SIZE, film_summary, region_rows, worklist_query

router = APIRouter()


def _page(request: Request, name: str, context: dict, status_code: int = 200) -> HTMLResponse:
    state = request.app.state
    base = {
        "reader": request.session.get("user") if state.config.logins else "local",
        "logins": state.config.logins,
        "thresholds_default": state.thresholds.is_default,
        "thresholds_source": state.thresholds.source,
        "calibrated": state.thresholds.calibrated,
        "model": state.model,
        "pacs": state.pacs_link.status() if state.pacs_link is not None else None,
    }
    return state.templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/worklist", status_code=303)


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(
    request: Request, status: str = "all", region: str = "", sort: str = "suspicion", page: int = 1,
    reader: str = Depends(auth.reader),
) -> HTMLResponse:  # fmt: skip
    state = request.app.state
    query = worklist_query(status, region, sort)
    page = max(1, page)
    films, total = state.store.worklist(**query, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    rows = [film_summary(f, state.thresholds.values) for f in films]
    pages = max(1, math.ceil(total / PAGE_SIZE))
    filters = {"status": status, "region": region, "sort": sort}
    return _page(
        request,
        "worklist.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": pages,
            "filters": filters,
            "query": urlencode(filters),
            "counts": state.store.counts(),
            "max_upload_mb": state.config.max_upload_mb,
        },
    )


@router.get("/films/{film_id}", response_class=HTMLResponse)
def viewer_page(
    request: Request, film_id: int, status: str = "all", region: str = "", sort: str = "suspicion",
    saved: int = 0, reader: str = Depends(auth.reader),
) -> HTMLResponse:  # fmt: skip
    from cxr_regions.report import highlight, parse_evidence

    state = request.app.state
    try:
        film = state.store.film(film_id)
    except KeyError:
        raise HTTPException(404, f"no film {film_id}") from None
    query = worklist_query(status, region, sort)
    previous, following = state.store.neighbours(film_id, **query)
    mine = next((v for v in state.store.verdicts(film_id) if v.reader == reader), None)
    others = [v for v in state.store.verdicts(film_id) if v.reader != reader]
    report = highlight(film.report_text, parse_evidence(film.report_evidence)) if film.report_text else None
    filters = {"status": status, "region": region, "sort": sort}
    return _page(
        request,
        "viewer.html",
        {
            "film": film_summary(film, state.thresholds.values),
            "size": {"width": film.width, "height": film.height},
            "regions": region_rows(film, state.thresholds.values),
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


@router.get("/agreement", response_class=HTMLResponse)
def agreement_page(request: Request, reader: str = Depends(auth.reader)) -> HTMLResponse:
    from cxr_regions.serve.verdicts import agreement

    state = request.app.state
    table = agreement(state.store, state.thresholds.values)
    return _page(request, "agreement.html", {"table": table, "counts": state.store.counts()})


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/worklist", error: str = "") -> HTMLResponse:
    if not request.app.state.config.logins:
        return RedirectResponse("/worklist", status_code=303)
    return _page(request, "login.html", {"next": _local_path(next), "error": error})


def _local_path(target: str) -> str:
    """A redirect target kept inside this site (no scheme, host or protocol-relative path)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


@router.get("/regions.css", include_in_schema=False)
def regions_css() -> Response:
    """The regions' colours (dots, evidence underlines, cue marks), as the HTML report draws them."""
    from cxr_regions.report import region_css

    return Response(region_css(), media_type="text/css", headers={"Cache-Control": "max-age=3600"})
