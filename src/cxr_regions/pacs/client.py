"""The PACS over DICOMweb, through dicomweb-client: search (QIDO-RS), retrieve (WADO-RS), store (STOW-RS).

Every failure to reach the PACS or an error answer becomes :class:`PacsError` with the URL and the HTTP
status, never the body (which may name a patient); callers retry with back-off.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from cxr_regions.errors import UserError
from cxr_regions.pacs.query import InstanceRef

PAGE = 500
ORIGINAL_SYNTAX = (("application/dicom", "*"),)  # the instance as stored, no transcoding
ASKED_FIELDS = ("ViewPosition",)


class PacsError(Exception):
    """The PACS could not be reached or answered with an error (worth retrying later)."""


def read_auth(spec: str | None) -> tuple[str, str] | None:
    """``user:password-file`` -> (user, the file's first line); None for None."""
    if spec is None:
        return None
    user, sep, file = spec.partition(":")
    if not sep or not user or not file:
        raise UserError(
            f"--pacs-auth {spec!r} must be USER:PASSWORD-FILE (the password is read from the file)"
        )
    path = Path(file)
    if not path.is_file():
        raise UserError(f"--pacs-auth: password file {path} does not exist")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0]:
        raise UserError(f"--pacs-auth: password file {path} is empty; put the password on its first line")
    return user, lines[0]


class Pacs:
    """One PACS's DICOMweb root (e.g. ``http://localhost:8042/dicom-web``), with optional basic auth."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None, timeout: float = 30.0) -> None:
        import requests
        from dicomweb_client.api import DICOMwebClient

        if not url.startswith(("http://", "https://")):
            raise UserError(f"PACS URL {url!r} must start with http:// or https:// (its DICOMweb root)")
        self.url = url.rstrip("/")
        session = requests.Session()
        if auth is not None:
            session.auth = auth
        self._client = DICOMwebClient(self.url, session=session, timeout=timeout)

    def _call(self, what: str, fn, *args: Any, **kwargs: Any) -> Any:
        import requests

        try:
            return fn(*args, **kwargs)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            hint = " (check --pacs-auth: user and password file)" if status in (401, 403) else ""
            raise PacsError(f"{what} at {self.url} failed: HTTP {status}{hint}") from None
        except requests.RequestException as exc:
            raise PacsError(
                f"{what} at {self.url} failed: {type(exc).__name__} (is the PACS running?)"
            ) from None

    def search(self, filters: Sequence[dict[str, str]]) -> Iterator[InstanceRef]:
        """Every instance matching any of ``filters`` (QIDO-RS, page by page), each once."""
        seen: set[str] = set()
        for one in filters:
            offset = 0
            while True:
                page = self._call(
                    "QIDO-RS search",
                    self._client.search_for_instances,
                    search_filters=dict(one),
                    fields=list(ASKED_FIELDS),
                    limit=PAGE,
                    offset=offset,
                )
                for item in page:
                    ref = InstanceRef.from_json(item)
                    if ref.sop and ref.sop not in seen:
                        seen.add(ref.sop)
                        yield ref
                if len(page) < PAGE:
                    break
                offset += len(page)

    def retrieve(self, ref: InstanceRef, path: Path) -> Path:
        """Write one instance (WADO-RS, its stored transfer syntax) to ``path`` atomically."""
        from pydicom import dcmwrite

        dataset = self._call(
            "WADO-RS retrieve",
            self._client.retrieve_instance,
            ref.study,
            ref.series,
            ref.sop,
            media_types=ORIGINAL_SYNTAX,
        )
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            dcmwrite(partial, dataset, enforce_file_format=True)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return path

    def header(self, ref: InstanceRef):
        """The instance's attributes without its bulk data (WADO-RS metadata), as a pydicom Dataset."""
        from pydicom import Dataset

        from cxr_regions.ingest.decode import quiet_pydicom

        meta = self._call(
            "WADO-RS metadata",
            self._client.retrieve_instance_metadata,
            ref.study,
            ref.series,
            ref.sop,
        )
        meta = {tag: value for tag, value in meta.items() if "BulkDataURI" not in value}
        with quiet_pydicom():  # its warnings about invalid values would quote them (names, dates) in the log
            return Dataset.from_json(meta)

    def store(self, datasets: Sequence[Any], study: str) -> None:
        """Send datasets into ``study`` (STOW-RS); ``PacsError`` unless the PACS took every one."""
        answer = self._call(
            "STOW-RS store", self._client.store_instances, list(datasets), study_instance_uid=study
        )
        failed = getattr(answer, "FailedSOPSequence", None) if answer is not None else None
        if failed:
            raise PacsError(f"STOW-RS store at {self.url}: the PACS refused {len(failed)} object(s)")

    def check(self) -> None:
        """One small search, to tell early whether the PACS answers."""
        self._call("QIDO-RS search", self._client.search_for_studies, limit=1)
