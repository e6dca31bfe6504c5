"""``pacs pull``: a PACS's chest films into a folder that ``ingest`` reads, for building a training set.

Each instance is written as ``OUT/<study UID>/<series UID>/<SOP UID>.dcm`` (UIDs only; the patient's
identity stays inside the files, for ingest to de-identify) under a temporary name and renamed when
complete, so an interrupted pull resumes: files already there are not fetched again.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cxr_regions.errors import UserError
from cxr_regions.pacs.client import Pacs, PacsError, read_auth
from cxr_regions.pacs.pull_config import PullConfig
from cxr_regions.pacs.query import InstanceRef, parse_query
from cxr_regions.progress import progress_bar

log = logging.getLogger("cxr_regions.pacs")


@dataclass
class PullSummary:
    """What one pull did: instances found, fetched now, already there, laterals skipped, failures."""

    found: int = 0
    fetched: int = 0
    present: int = 0
    lateral: int = 0
    failed: list[str] = field(default_factory=list)


def instance_path(out: Path, ref: InstanceRef) -> Path:
    return Path(out) / ref.study / ref.series / f"{ref.sop}.dcm"


def pull(config: PullConfig) -> PullSummary:
    """Fetch every matching instance not yet in ``config.out``; failures are listed, not fatal."""
    config.validate()
    pacs = Pacs(config.url, read_auth(config.auth))
    try:
        refs = list(pacs.search(parse_query(config.query, config.since)))
    except PacsError as exc:
        raise UserError(f"{exc}; check the URL (its DICOMweb root) and --pacs-auth") from None
    summary = PullSummary(found=len(refs))
    todo = []
    for ref in refs:
        if ref.lateral:
            summary.lateral += 1
        elif instance_path(config.out, ref).exists():
            summary.present += 1
        else:
            todo.append(ref)

    def fetch(ref: InstanceRef) -> str | None:
        try:
            pacs.retrieve(ref, instance_path(config.out, ref))
        except PacsError as exc:
            return f"{ref.sop}: {exc}"
        return None

    with progress_bar(config.progress) as bar, ThreadPoolExecutor(config.workers) as pool:
        task = bar.add_task("pull", total=len(todo))
        for problem in pool.map(fetch, todo):
            if problem is None:
                summary.fetched += 1
            else:
                summary.failed.append(problem)
                log.warning("not fetched: %s", problem)
            bar.advance(task)
    return summary
