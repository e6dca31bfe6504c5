"""Films in by upload: one or many DICOM, PNG or JPEG files, each stored, recognised as a duplicate or
refused with its reason."""

from __future__ import annotations

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from cxr_regions.serve.configuration import FILES_PER_UPLOAD
from cxr_regions.serve.deps import CSRF_CHECKED, ConfigDep, IntakeDep, PagesDep, ReaderDep, WantsJsonDep

router = APIRouter()


@router.post("/upload", dependencies=CSRF_CHECKED)
def upload(
    request: Request, intake: IntakeDep, config: ConfigDep, pages: PagesDep, reader: ReaderDep,
    json: WantsJsonDep, files: list[UploadFile] = File(...), report: str = Form(""), urgent: str = Form(""),
) -> Response:  # fmt: skip
    """Store one or many films (DICOM, PNG, JPEG); each is stored, recognised as a duplicate, refused
    with its reason, or failed (nothing stored: the room's disk or database; send it again). Results are
    in the order of the files (``index`` from 1) with the file's short content hash (``ref``): the file
    names are never used, logged or shown. ``report``: an optional report text for this upload's films;
    ``urgent`` (1/on): the model reads them first."""
    if len(files) > FILES_PER_UPLOAD:
        raise HTTPException(413, f"at most {FILES_PER_UPLOAD} files per upload; send the rest in another")
    first = urgent in ("1", "on")
    results = [
        {"index": i, **intake.receive(item.file, "upload", config.max_upload_bytes, report, first).to_dict()}
        for i, item in enumerate(files, start=1)
    ]
    if json:
        return JSONResponse({"results": results})
    return pages.render(request, "uploaded.html", {"results": results})
