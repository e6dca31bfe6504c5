"""The site's fixed addresses: the home redirect, the health check, the favicon and the regions' colours."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

router = APIRouter()


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/worklist", status_code=303)


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, bool]:
    return {"ok": True}


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    return Response(status_code=204)


@router.get("/regions.css", include_in_schema=False)
def regions_css() -> Response:
    """The regions' colours (dots, evidence underlines, cue marks), as the HTML report draws them."""
    from cxr_regions.report import region_css

    return Response(region_css(), media_type="text/css", headers={"Cache-Control": "max-age=3600"})
