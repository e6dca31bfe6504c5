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
    """Store one or many films (DICOM, PNG, JPEG); each is stored, recognised as a duplicate or
    refused with its reason. ``report``: an optional report text for the films of this upload;
    ``urgent`` (1/on): the model reads them first."""
    if len(files) > FILES_PER_UPLOAD:
        raise HTTPException(413, f"at most {FILES_PER_UPLOAD} files per upload; send the rest in another")
    outcomes = [
        intake.receive(
            item.file, item.filename or "", "upload", config.max_upload_bytes, report, urgent in ("1", "on")
        )
        for item in files
    ]
    results = [o.to_dict() for o in outcomes]
    if json:
        return JSONResponse({"results": results})
    return pages.render(request, "uploaded.html", {"results": results})
