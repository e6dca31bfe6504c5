"""The PACS link (``serve --pacs``, ``--dicom-port``) as the pages and scripts see it: its state, the
jobs set aside with their reasons, and re-queuing them (as ``cxr-regions pacs retry`` does)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cxr_regions.serve.deps import CSRF_CHECKED, PacsLinkDep, PagesDep, ReaderDep, WantsJsonDep
from cxr_regions.serve.schema import PACS_JOB_STATES

router = APIRouter()
SHOWN_JOBS = 200


@router.get("/api/pacs")
def api_pacs(link: PacsLinkDep, reader: ReaderDep) -> dict[str, Any]:
    """The PACS link's state: each direction's status line, the counts and the jobs by state (404
    without a link)."""
    return link.status()


@router.get("/api/pacs/jobs")
def api_pacs_jobs(link: PacsLinkDep, reader: ReaderDep, state: str = "set_aside") -> dict[str, Any]:
    """The link's jobs in one state (``set_aside`` by default), the most recently changed first."""
    states = [s for s in state.split(",") if s in PACS_JOB_STATES] or ["set_aside"]
    return {"jobs": [job.to_dict() for job in link.jobs.jobs(states, SHOWN_JOBS)]}


@router.get("/pacs", response_class=HTMLResponse)
def pacs_page(request: Request, link: PacsLinkDep, pages: PagesDep, reader: ReaderDep) -> HTMLResponse:
    """The PACS page: the link's state, the set-aside jobs with their reasons, the jobs waiting to be
    tried again."""
    context = {
        "set_aside": link.jobs.jobs(["set_aside"], SHOWN_JOBS),
        "waiting": link.jobs.jobs(["failed"], SHOWN_JOBS),
        "retried": request.query_params.get("retried"),
    }
    return pages.render(request, "pacs.html", context)


@router.post("/pacs/retry", dependencies=CSRF_CHECKED)
async def pacs_retry(request: Request, link: PacsLinkDep, reader: ReaderDep, json: WantsJsonDep) -> Response:
    """Re-queue set-aside or waiting jobs: those of the SOP Instance UIDs in ``uid`` fields, or every one
    with ``all=1``; tried again now with a fresh count of attempts."""
    form = await request.form()
    uids = [str(u) for u in form.getlist("uid") if str(u)]
    everything = str(form.get("all", "")) in ("1", "on", "true")
    count = await run_in_threadpool(link.jobs.retry, uids, everything)
    link.runner.wake.set()
    if json:
        return JSONResponse({"requeued": count})
    return RedirectResponse(f"/pacs?retried={count}", status_code=303)
