"""Incremental polling: the instances that reached the PACS since the last successful poll, without
listing the whole archive each time.

Two ways, chosen once per PACS (``PollConfig.mode``, ``auto`` by default):

- ``changes`` — where the PACS is an Orthanc (its REST root, next to the DICOMweb root, answers
  ``/system``): read its change feed from the last change number seen. The feed is in order of
  reception, so a study dated a week back that arrives today is found like any other.
- ``window`` — any other DICOMweb PACS: QIDO-RS for studies whose StudyDate + StudyTime lies after the
  previous poll's start less ``overlap``. That misses studies that reach the PACS later than
  ``overlap`` after their study time (or have no study date/time), so a full search (a *sweep*) of the
  whole query runs every ``sweep_every`` seconds as well.

The first poll, and a feed that restarted (a new or reset PACS database), search the whole query.

:class:`Poller` is stateless between calls: ``poll(state)`` takes the :class:`PollState` the previous
poll returned (None the first time) and returns the instances found and the next state. The caller keeps
the state (e.g. in its database) and saves the new one only once it has durably taken the instances,
so a poll that fails, or a process that dies, asks the same question again. Instances may come more
than once (the window's overlap, a sweep, an instance stored again): the caller skips those it has,
except where :func:`changed_in_pacs` says the PACS holds new content under the same UID.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from cxr_regions.errors import UserError
from cxr_regions.pacs.change_feed import (
    OrthancIndex,
    detect_orthanc,
    last_change,
    match_locally,
    orthanc_base,
    read_changes,
)
from cxr_regions.pacs.client import Pacs, PacsError
from cxr_regions.pacs.query import InstanceRef

log = logging.getLogger("cxr_regions.pacs")

MODES = ("auto", "changes", "window")


@dataclass
class PollConfig:
    """How to poll: ``mode`` (auto, changes, window); the window's ``overlap`` and the full sweep's
    period in seconds; at most ``max_changes`` feed entries read per poll (then ``more`` is set); the
    Orthanc REST root where it is not the DICOMweb root's parent."""

    mode: str = "auto"
    overlap: float = 3600.0
    sweep_every: float = 24 * 3600.0
    max_changes: int = 5000
    orthanc_url: str | None = None

    def validate(self) -> None:
        if self.mode not in MODES:
            raise UserError(f"poll mode {self.mode!r} must be one of {', '.join(MODES)}")
        if self.overlap < 0 or self.sweep_every <= 0 or self.max_changes < 1:
            raise UserError("poll overlap must be ≥ 0, sweep period > 0 and max changes ≥ 1")


@dataclass(frozen=True)
class PollState:
    """Where the last successful poll left off (keep it as :meth:`to_json` text between polls).

    ``seq``: the last change number read from the feed (mode ``changes``); ``window_start``: when the
    last poll started (mode ``window``, local time, ISO); ``last_sweep``: when the whole query was last
    searched (ISO)."""

    mode: str
    seq: int = 0
    window_start: str = ""
    last_sweep: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PollState:
        data = json.loads(text)
        if data.get("mode") not in ("changes", "window"):
            raise ValueError(f"not a poll state: {text[:80]!r}")
        return cls(**{k: data[k] for k in ("mode", "seq", "window_start", "last_sweep") if k in data})


@dataclass(frozen=True)
class Polled:
    """One instance found: its UIDs and, where the PACS tells, its revision (Orthanc: the MD5 of its
    stored file); "" where the PACS does not tell (QIDO-RS, sweeps)."""

    ref: InstanceRef
    revision: str = ""


@dataclass
class PollResult:
    """What one poll found and the state to pass to the next one.

    ``swept``: this poll searched the whole query; ``more``: changes are still waiting, poll again now;
    ``unresolved``: feed entries that could not be looked up (an error answer for that one instance):
    skipped now, found again by the next sweep."""

    instances: list[Polled]
    state: PollState
    swept: bool = False
    more: bool = False
    unresolved: list[str] = field(default_factory=list)


def changed_in_pacs(recorded: str | None, polled: Polled) -> bool:
    """Whether ``polled`` is an instance taken before (``recorded``: the revision recorded then, "" for
    none, None for never taken) that the PACS says now holds other content under the same UID."""
    return recorded is not None and bool(polled.revision) and polled.revision != recorded


class Poller:
    """Polls one PACS for the instances of ``filters`` (QIDO-RS search filters, see ``parse_query``).

    ``clock`` gives local time (naive), as StudyDate/StudyTime are written; tests pass their own."""

    def __init__(
        self,
        pacs: Pacs,
        filters: list[dict[str, str]],
        config: PollConfig | None = None,
        clock: Callable[[], datetime] = datetime.now,
    ) -> None:
        self.pacs = pacs
        self.filters = [dict(f) for f in filters]
        self.config = config or PollConfig()
        self.config.validate()
        self.clock = clock
        self.base = (self.config.orthanc_url or orthanc_base(pacs.url)).rstrip("/")
        self._mode: str | None = None

    def detect_mode(self) -> str:
        """``changes`` where the PACS is an Orthanc (or the config says so), else ``window``."""
        if self._mode is None:
            if self.config.mode != "auto":
                self._mode = self.config.mode
            else:
                self._mode = "changes" if detect_orthanc(self.pacs, self.base) else "window"
        return self._mode

    def poll(self, state: PollState | None) -> PollResult:
        """The instances found since ``state`` (None: the first poll searches the whole query, as does a
        state of another mode than the one configured)."""
        now = self.clock()
        if state is None or self.config.mode not in ("auto", state.mode):
            mode = self.detect_mode()
            log.info("PACS polling by %s", "its change feed" if mode == "changes" else "a StudyDate window")
            return self._sweep(PollState(mode), now)
        due = (
            not state.last_sweep
            or (now - _parse(state.last_sweep)).total_seconds() >= self.config.sweep_every
        )
        if state.mode == "changes":
            return self._changes(state, now, due)
        if due or not state.window_start:
            return self._sweep(state, now)
        return self._window(state, now)

    def revision(self, ref: InstanceRef) -> str:
        """The instance's revision as the PACS tells it now ("" where it does not): for the caller to
        record when it takes an instance a sweep found."""
        if self.detect_mode() != "changes":
            return ""
        index = OrthancIndex(self.pacs, self.base)
        found = index.lookup(ref.sop)
        return index.revision(found) if found else ""

    def _sweep(self, state: PollState, now: datetime) -> PollResult:
        seq = last_change(self.pacs, self.base) if state.mode == "changes" else state.seq
        found = [Polled(ref) for ref in self.pacs.search(self.filters)]
        stamp = now.isoformat(timespec="seconds")
        return PollResult(found, PollState(state.mode, seq, stamp, stamp), swept=True)

    def _window(self, state: PollState, now: datetime) -> PollResult:
        start = _parse(state.window_start) - timedelta(seconds=self.config.overlap)
        filters = [narrowed for f in self.filters for narrowed in window_filters(f, start)]
        found = [Polled(ref) for ref in self.pacs.search(filters)]
        new = PollState(state.mode, state.seq, now.isoformat(timespec="seconds"), state.last_sweep)
        return PollResult(found, new)

    def _changes(self, state: PollState, now: datetime, due: bool) -> PollResult:
        page = read_changes(self.pacs, self.base, state.seq, self.config.max_changes)
        if page.restarted or due:
            if page.restarted:
                log.warning("the PACS's change feed restarted (a new or reset database): searching it all")
            return self._sweep(state, now)
        index = OrthancIndex(self.pacs, self.base)
        result = PollResult([], PollState(state.mode, page.last, "", state.last_sweep), more=page.more)
        for orthanc_id in page.instances:
            try:
                result.instances += self._describe(index, orthanc_id)
            except PacsError as exc:
                if exc.status is None:  # the PACS is down: the whole poll fails, to be asked again
                    raise
                result.unresolved.append(f"instance {orthanc_id}: HTTP {exc.status}")
        return result

    def _describe(self, index, orthanc_id: str) -> list[Polled]:
        """The feed's instance as the query sees it: [] where deleted since or not asked for. Decided from
        Orthanc's index where the query allows (Modality, BodyPartExamined, UIDs), else by QIDO-RS."""
        instance = index.instance(orthanc_id)
        if instance is None:
            return []
        matches = match_locally(self.filters, instance.tags)
        if matches is False:
            return []
        if matches:
            ref = InstanceRef(instance.study, instance.series, instance.sop, index.view(orthanc_id))
            return [Polled(ref, instance.revision)]
        uids = {k: instance.tags[k] for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")}
        narrowed = [f for f in (_narrowed(f, uids) for f in self.filters) if f is not None]
        refs = {r.sop: r for r in self.pacs.search(narrowed)}
        return [Polled(refs[instance.sop], instance.revision)] if instance.sop in refs else []


def window_filters(one: dict[str, str], start: datetime) -> list[dict[str, str]]:
    """``one`` narrowed to studies whose StudyDate + StudyTime is at or after ``start``: that day from
    that time on, and every later day (DICOM matches the two attributes separately). Intersected with
    a StudyDate the filter has; a filter with its own StudyTime is left whole."""
    if "StudyTime" in one:
        return [one]
    low, high = _date_range(one.get("StudyDate", ""))
    first = start.date()
    out = []
    if (low is None or low <= first) and (high is None or first <= high):
        out.append({**one, "StudyDate": f"{first:%Y%m%d}", "StudyTime": f"{start:%H%M%S}-"})
    later = max(first + timedelta(days=1), low) if low else first + timedelta(days=1)
    if high is None or later <= high:
        out.append({**one, "StudyDate": f"{later:%Y%m%d}-" + (f"{high:%Y%m%d}" if high else "")})
    return out


def _date_range(value: str) -> tuple[date | None, date | None]:
    """A DA value or range (``A``, ``A-``, ``-B``, ``A-B``) -> (low, high), None for open ends."""

    def day(text: str) -> date | None:
        return datetime.strptime(text.strip(), "%Y%m%d").date() if text.strip() else None

    if not value:
        return None, None
    if "-" not in value:
        return day(value), day(value)
    low, _, high = value.partition("-")
    return day(low), day(high)


def _narrowed(one: dict[str, str], uids: dict[str, str]) -> dict[str, str] | None:
    """``one`` narrowed to one instance (by its UIDs); None where the filter names other UIDs."""
    narrowed = dict(one)
    for key, value in uids.items():
        if narrowed.get(key, value) != value:
            return None
        narrowed[key] = value
    return narrowed


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)
