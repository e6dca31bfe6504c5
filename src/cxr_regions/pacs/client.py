"""The PACS over DICOMweb, through dicomweb-client: search (QIDO-RS), retrieve (WADO-RS), store (STOW-RS).

Every failure to reach the PACS or an error answer becomes :class:`PacsError` with the URL and the HTTP
status, never the body (which may name a patient); callers retry with back-off.

Each request is tried once: dicomweb-client's own retries (up to 5 tries with 2, 4, 8, 16 s pauses, on
connection errors, timeouts and HTTP 408/429/503/504) are switched off, and so are urllib3's, so that a
PACS that is down is noticed within one connect timeout and the caller's back-off is what happens. A
request that gets no byte of its answer for ``read_timeout`` seconds fails (the read timeout bounds each
wait for data, not the whole transfer).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydicom import Dataset, dcmwrite
from pydicom.errors import InvalidDicomError

from cxr_regions.errors import UserError
from cxr_regions.ingest.decode import quiet_pydicom
from cxr_regions.pacs.query import InstanceRef

PAGE = 500
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
POOL_SIZE = 16
ORIGINAL_SYNTAX = (("application/dicom", "*"),)  # the instance as stored, no transcoding
ASKED_FIELDS = ("ViewPosition",)


class PacsError(Exception):
    """The PACS could not be reached or answered with an error (worth retrying later).

    ``status``: the HTTP status where the PACS answered one (404: not there), None where it could not
    be reached, timed out or its answer was cut short."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PacsRefused(PacsError):
    """The PACS answered a STOW-RS store but did not take every object (it listed them as failed, or did
    not confirm them): an answer about these objects, not a PACS that is away."""


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
    """One PACS's DICOMweb root (e.g. ``http://localhost:8042/dicom-web``), with optional basic auth.

    ``connect_timeout``: seconds to open a connection; ``read_timeout``: seconds to wait for the next
    piece of an answer. ``pool_size``: connections kept open for requests made from several threads."""

    def __init__(
        self,
        url: str,
        auth: tuple[str, str] | None = None,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        pool_size: int = POOL_SIZE,
    ) -> None:
        # here: dicomweb-client is the pacs extra
        from dicomweb_client.api import DICOMwebClient

        if not url.startswith(("http://", "https://")):
            raise UserError(f"PACS URL {url!r} must start with http:// or https:// (its DICOMweb root)")
        if connect_timeout <= 0 or read_timeout <= 0:
            raise UserError("PACS timeouts must be positive numbers of seconds")
        self.url = url.rstrip("/")
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.session = _session(auth, pool_size)
        self._client = DICOMwebClient(self.url, session=self.session, timeout=self.timeout)
        self._client.set_http_retry_params(retry=False)

    def _call(self, what: str, fn, *args: Any, **kwargs: Any) -> Any:
        # here: requests and urllib3 are the pacs extra
        import requests

        try:
            return fn(*args, **kwargs)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            hint = " (check --pacs-auth: user and password file)" if status in (401, 403) else ""
            raise PacsError(f"{what} at {self.url} failed: HTTP {status or '?'}{hint}", status) from None
        except requests.Timeout as exc:
            kind = "connecting" if isinstance(exc, requests.ConnectTimeout) else "waiting for the answer"
            raise PacsError(f"{what} at {self.url} failed: timed out {kind} (is the PACS running?)") from None
        except requests.RequestException as exc:
            raise PacsError(
                f"{what} at {self.url} failed: {type(exc).__name__} (is the PACS running?)"
            ) from None
        except (ValueError, EOFError, InvalidDicomError) as exc:  # an answer cut short or garbled
            problem = f"unreadable answer ({type(exc).__name__})"
            raise PacsError(f"{what} at {self.url} failed: {problem}") from None

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> Any:
        """GET a JSON resource outside DICOMweb (e.g. Orthanc's ``/changes``) with this client's session,
        timeouts and errors."""
        return self._call(f"GET {urlsplit(url).path}", lambda: self._send("GET", url, params=params).json())

    def post_json(self, url: str, data: bytes) -> Any:
        """POST ``data`` to a resource outside DICOMweb; its JSON answer."""
        return self._call(f"POST {urlsplit(url).path}", lambda: self._send("POST", url, data=data).json())

    def get_text(self, url: str) -> str:
        """GET a text resource outside DICOMweb."""
        return self._call(f"GET {urlsplit(url).path}", lambda: self._send("GET", url).text)

    def _send(self, method: str, url: str, **kwargs: Any):
        response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        response.raise_for_status()
        return response

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
        """Send datasets into ``study`` (STOW-RS); ``PacsError`` unless the PACS took every one: its
        answer must list each among the stored instances (an answer listing none, as to a body lost on
        the way, is no success)."""
        answer = self._call(
            "STOW-RS store", self._client.store_instances, list(datasets), study_instance_uid=study
        )
        failed = getattr(answer, "FailedSOPSequence", None) if answer is not None else None
        if failed:
            raise PacsRefused(f"STOW-RS store at {self.url}: the PACS refused {len(failed)} object(s)")
        stored = {
            str(item.get("ReferencedSOPInstanceUID", ""))
            for item in (getattr(answer, "ReferencedSOPSequence", None) or [] if answer is not None else [])
        }
        missing = [d for d in datasets if str(d.SOPInstanceUID) not in stored]
        if missing:
            confirmed = len(datasets) - len(missing)
            raise PacsRefused(
                f"STOW-RS store at {self.url}: the PACS confirmed {confirmed} of {len(datasets)} object(s)"
            )

    def check(self) -> None:
        """One small search, to tell early whether the PACS answers."""
        self._call("QIDO-RS search", self._client.search_for_studies, limit=1)


def _session(auth: tuple[str, str] | None, pool_size: int):
    """A requests session whose transport never retries on its own (urllib3 ``Retry(0)``)."""
    # here: requests and urllib3 are the pacs extra
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    if auth is not None:
        session.auth = auth
    adapter = HTTPAdapter(max_retries=Retry(total=0, read=False, redirect=False), pool_maxsize=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
