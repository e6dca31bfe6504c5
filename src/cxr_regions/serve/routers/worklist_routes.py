"""The worklist: its page and the JSON the page polls (one page of films, the counts, each row's status),
searched by accession, sorted by any column; and pausing or resuming the model's queue."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from cxr_regions.serve.deps import (
    CSRF_CHECKED,
    AdminDep,
    ConfigDep,
    PagesDep,
    ReaderDep,
    StoreDep,
    ThresholdsDep,
    WorkerDep,
)
from cxr_regions.serve.model import Thresholds
from cxr_regions.serve.store import Store
from cxr_regions.serve.views import PAGE_SIZE, WorklistFilters, film_summary, saturation_notes
from cxr_regions.serve.worklist import saturated

router = APIRouter()
FiltersDep = Annotated[WorklistFilters, Depends()]


def listing(
    store: Store, thresholds: Thresholds, filters: WorklistFilters, page: int
) -> tuple[list[dict[str, Any]], int, int]:
    """One page (from 1) of worklist rows with these filters, how many films match them, and the
    number of pages (at least 1)."""
    films, total = store.worklist(
        **filters.store_query(), offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, thresholds=thresholds.values
    )
    pages = max(1, math.ceil(total / PAGE_SIZE))
    return [film_summary(f, thresholds.values) for f in films], total, pages


def empty_message(filters: WorklistFilters, total: int, page: int, pages: int) -> str:
    """Why a page shows no film, in words."""
    if total and page > pages:
        return f"Page {page} is past the last page ({pages}) of {total} film{'s' * (total != 1)}."
    if filters.q.strip():
        return f"No film with an accession number containing “{filters.q.strip()}”."
    if filters.status != "all" or filters.region:
        return "No film matches these filters."
    return "No films here yet: upload some above."


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(
    request: Request, store: StoreDep, thresholds: ThresholdsDep, pages: PagesDep, config: ConfigDep,
    reader: ReaderDep, worker: WorkerDep, filters: FiltersDep, page: int = 1,
) -> HTMLResponse:  # fmt: skip
    page = max(1, page)
    rows, total, last = listing(store, thresholds, filters, page)
    return pages.render(
        request,
        "worklist.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": last,
            "empty": empty_message(filters, total, page, last),
            "filters": filters.params(),
            "query": filters.encoded(),
            "sort_links": filters.sort_links(),
            "filter_values": filters,
            "counts": store.counts(),
            "max_upload_mb": config.max_upload_mb,
            "notes": saturation_notes(saturated(store, 0.0005, 0.9995), thresholds.calibrated),
            "paused": worker.paused,
        },
    )


@router.get("/api/worklist")
def api_worklist(
    store: StoreDep, thresholds: ThresholdsDep, reader: ReaderDep, worker: WorkerDep, filters: FiltersDep,
    page: int = 1,
) -> dict[str, Any]:  # fmt: skip
    """One page of the worklist (``q``: accession search; ``sort``, ``order``), the counts, and each
    row's processing status (polled by the page); ``message`` says why a page is empty."""
    page = max(1, page)
    rows, total, last = listing(store, thresholds, filters, page)
    return {
        "total": total,
        "page": page,
        "pages": last,
        "counts": store.counts(),
        "rows": rows,
        "message": "" if rows else empty_message(filters, total, page, last),
        "paused": worker.paused,
    }


@router.post("/api/queue/pause", dependencies=CSRF_CHECKED)
def pause_queue(worker: WorkerDep, admin: AdminDep) -> dict[str, bool]:
    """Stop the model taking new films from the queue (the film being read is finished); admins only."""
    worker.pause()
    return {"paused": True}


@router.post("/api/queue/resume", dependencies=CSRF_CHECKED)
def resume_queue(worker: WorkerDep, admin: AdminDep) -> dict[str, bool]:
    """Let the model take films from the queue again, urgent ones first; admins only."""
    worker.resume()
    return {"paused": False}
