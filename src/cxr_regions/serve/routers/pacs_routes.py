"""The PACS link (``serve --pacs``) as the pages and scripts see it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from cxr_regions.serve.deps import PacsLinkDep, ReaderDep

router = APIRouter()


@router.get("/api/pacs")
def api_pacs(link: PacsLinkDep, reader: ReaderDep) -> dict[str, Any]:
    """The PACS link's state: each direction's status line and the counts (404 without a link)."""
    return link.status()
