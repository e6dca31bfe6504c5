"""Orthanc's change feed (``/changes``): the instances an Orthanc PACS received since a change number.

Orthanc numbers every change it records (``NewInstance``, ``NewSeries``, ``StableSeries``...) in the
order it happened, so reading the feed from the last number seen finds every instance received since,
whatever its study date, at a cost that does not grow with the archive. An instance stored again over
itself (``"OverwriteInstances": true``) gets a new ``NewInstance`` change (and its old changes go), so
it comes back through the feed with the MD5 of its new file as its revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from cxr_regions.pacs.client import Pacs, PacsError

PAGE = 100  # Orthanc answers at most 100 changes per request
EXACT_KEYS = ("Modality", "BodyPartExamined", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


def orthanc_base(dicomweb_url: str) -> str:
    """Orthanc's REST root from its DICOMweb root: ``http://h:8042/dicom-web`` -> ``http://h:8042``."""
    parts = urlsplit(dicomweb_url.rstrip("/"))
    path = parts.path.rsplit("/", 1)[0] if "/" in parts.path else ""
    return urlunsplit(parts._replace(path=path, query="", fragment=""))


def detect_orthanc(pacs: Pacs, base: str) -> bool:
    """Whether ``base`` is an Orthanc's REST root (its ``/system`` says so). Errors other than the PACS
    being unreachable mean "no": such a PACS is polled through QIDO-RS."""
    try:
        system = pacs.get_json(f"{base}/system")
    except PacsError as exc:
        if exc.status is None:
            raise
        return False
    return isinstance(system, dict) and {"ApiVersion", "DicomAet", "Version"} <= set(system)


@dataclass
class FeedPage:
    """The new instances (Orthanc IDs, in the order received), the number of the last change read,
    and whether more changes are waiting."""

    instances: list[str] = field(default_factory=list)
    last: int = 0
    more: bool = False
    restarted: bool = False  # the PACS's feed is behind our cursor: a new or reset database


def read_changes(pacs: Pacs, base: str, since: int, max_changes: int) -> FeedPage:
    """The ``NewInstance`` changes after ``since``, at most ``max_changes`` changes read."""
    page = FeedPage(last=since)
    seen: set[str] = set()
    read = 0
    while read < max_changes:
        limit = min(PAGE, max_changes - read)
        answer = pacs.get_json(f"{base}/changes", {"since": page.last, "limit": limit})
        changes = answer.get("Changes") or []
        if not changes:
            page.restarted = int(answer.get("Last", since)) < since
            page.more = False
            break
        for change in changes:
            if change.get("ChangeType") == "NewInstance" and change["ID"] not in seen:
                seen.add(change["ID"])
                page.instances.append(change["ID"])
            page.last = max(page.last, int(change["Seq"]))
        read += len(changes)
        page.more = not answer.get("Done", True)
        if not page.more:
            break
    return page


def last_change(pacs: Pacs, base: str) -> int:
    """The number of the newest change in the feed (0 for an empty one)."""
    return int(pacs.get_json(f"{base}/changes", {"last": ""}).get("Last", 0))


@dataclass(frozen=True)
class OrthancInstance:
    """One instance's UIDs and the MD5 of its stored file, from Orthanc's own index."""

    orthanc_id: str
    study: str
    series: str
    sop: str
    revision: str
    tags: dict[str, str] = field(default_factory=dict)  # the study's and series' main tags (Modality...)


class OrthancIndex:
    """Orthanc IDs -> UIDs, with the series and studies looked up once per poll."""

    def __init__(self, pacs: Pacs, base: str) -> None:
        self.pacs, self.base = pacs, base
        self._series: dict[str, dict[str, str]] = {}

    def instance(self, orthanc_id: str) -> OrthancInstance | None:
        """The instance, or None where it has been deleted since."""
        try:
            found = self.pacs.get_json(f"{self.base}/instances/{orthanc_id}")
            tags = self._parents(found["ParentSeries"])
        except PacsError as exc:
            if exc.status == 404:
                return None
            raise
        sop = found.get("MainDicomTags", {}).get("SOPInstanceUID", "")
        study, series = tags.get("StudyInstanceUID", ""), tags.get("SeriesInstanceUID", "")
        tags = {**tags, "SOPInstanceUID": sop}
        return OrthancInstance(orthanc_id, study, series, sop, self.revision(orthanc_id, found), tags)

    def view(self, orthanc_id: str) -> str:
        """The instance's ViewPosition ("" where it has none), read by Orthanc from the file."""
        try:
            return self.pacs.get_text(f"{self.base}/instances/{orthanc_id}/content/0018-5101").strip("\x00 ")
        except PacsError as exc:
            if exc.status == 404:
                return ""
            raise

    def revision(self, orthanc_id: str, found: dict | None = None) -> str:
        """The MD5 of the stored file (or, where Orthanc keeps none, the file's storage id)."""
        try:
            url = f"{self.base}/instances/{orthanc_id}/attachments/dicom/md5"
            return "md5:" + self.pacs.get_text(url).strip()
        except PacsError as exc:
            if exc.status != 404:
                raise
        if found is None:
            found = self.pacs.get_json(f"{self.base}/instances/{orthanc_id}")
        return "file:" + str(found.get("FileUuid", ""))

    def lookup(self, sop: str) -> str | None:
        """The Orthanc ID of the instance with this SOP Instance UID, if there is one."""
        for item in self.pacs.post_json(f"{self.base}/tools/lookup", sop.encode()) or []:
            if item.get("Type") == "Instance":
                return str(item["ID"])
        return None

    def _parents(self, series_id: str) -> dict[str, str]:
        """The main tags of the series and its study (Orthanc keeps them in its index)."""
        if series_id not in self._series:
            series = self.pacs.get_json(f"{self.base}/series/{series_id}")
            study = self.pacs.get_json(f"{self.base}/studies/{series['ParentStudy']}")
            tags = {**study.get("MainDicomTags", {}), **series.get("MainDicomTags", {})}
            self._series[series_id] = {k: str(v) for k, v in tags.items() if isinstance(v, str)}
        return self._series[series_id]


def match_locally(filters: list[dict[str, str]], tags: dict[str, str]) -> bool | None:
    """Whether an instance with these main tags matches any of ``filters``, where that can be told
    exactly without asking the PACS: every key a UID, Modality or BodyPartExamined with a plain value
    (no wildcard or list); None otherwise (then QIDO-RS is asked)."""
    for one in filters:
        for key, value in one.items():
            if key not in EXACT_KEYS or any(c in value for c in "*?\\,"):
                return None
    return any(all(tags.get(k, "").strip() == v.strip() for k, v in one.items()) for one in filters)
