"""The site's fixed addresses: the home redirect, the health check, the favicon, the regions' colours,
and the model page (what the run is and where its starting weights came from)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxr_regions.report import region_css
from cxr_regions.serve.deps import ModelDep, PagesDep

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
    return Response(region_css(), media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/model", response_class=HTMLResponse)
def model_page(request: Request, model: ModelDep, pages: PagesDep) -> HTMLResponse:
    """The model: its network, input conversion and training, and where its starting weights came
    from (library, name, file hash, licence, intended use as published; research use only where the
    publisher says so), from the run's ``model.json``."""
    return pages.render(request, "model.html", {"info": model.info, "provenance": model.provenance})


@router.get("/api/model")
def model_json(model: ModelDep) -> dict[str, Any]:
    """What the model page shows, for scripts: the network, the starting weights' provenance, and
    whether the model is for research use only."""
    info = model.info
    return {
        "run": model.run_name,
        "arch": info.arch,
        "library": info.library,
        "init": info.init,
        "label_names": list(info.label_names),
        "research_only": model.research_only,
        "provenance": model.provenance.to_dict(),
        "frozen": info.frozen.model_dump() if info.frozen else None,
    }
