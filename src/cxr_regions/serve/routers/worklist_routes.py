"""The worklist: its page and the JSON the page polls (one page of films, the counts, each row's status)."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from cxr_regions.serve.deps import ConfigDep, PagesDep, ReaderDep, StoreDep, ThresholdsDep
from cxr_regions.serve.model import Thresholds
from cxr_regions.serve.store import Store
from cxr_regions.serve.views import PAGE_SIZE, film_summary, worklist_query

router = APIRouter()


def listing(
    store: Store, thresholds: Thresholds, status: str, region: str, sort: str, page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page (from 1) of worklist rows with these filters, and how many films match them."""
    films, total = store.worklist(
        **worklist_query(status, region, sort), offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE,
        thresholds=thresholds.values,
    )  # fmt: skip
    return [film_summary(f, thresholds.values) for f in films], total


@router.get("/worklist", response_class=HTMLResponse)
def worklist_page(
    request: Request, store: StoreDep, thresholds: ThresholdsDep, pages: PagesDep, config: ConfigDep,
    reader: ReaderDep, status: str = "all", region: str = "", sort: str = "suspicion", page: int = 1,
) -> HTMLResponse:  # fmt: skip
    page = max(1, page)
    rows, total = listing(store, thresholds, status, region, sort, page)
    filters = {"status": status, "region": region, "sort": sort}
    return pages.render(
        request,
        "worklist.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, math.ceil(total / PAGE_SIZE)),
            "filters": filters,
            "query": urlencode(filters),
            "counts": store.counts(),
            "max_upload_mb": config.max_upload_mb,
        },
    )


@router.get("/api/worklist")
def api_worklist(
    store: StoreDep, thresholds: ThresholdsDep, reader: ReaderDep,
    status: str = "all", region: str = "", sort: str = "suspicion", page: int = 1,
) -> dict[str, Any]:  # fmt: skip
    """One page of the worklist, the counts, and each row's processing status (polled by the page)."""
    page = max(1, page)
    rows, total = listing(store, thresholds, status, region, sort, page)
    return {"total": total, "page": page, "counts": store.counts(), "rows": rows}
