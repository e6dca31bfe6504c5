"""Test-only fault points: named steps at which a process can be made to die or to fail, on purpose.

Crash safety is only believable when a kill has been tried at the worst instant, and random kills rarely
land there. So the steps that matter call ``fault_point("intake.file_renamed")``; that is a no-op unless
the environment variable ``CXR_FAULT_POINT`` names the step:

- ``CXR_FAULT_POINT=intake.file_renamed``: the process SIGKILLs itself the first time it gets there;
- ``CXR_FAULT_POINT=intake.file_renamed@3``: the third time (so the kill lands in the middle of a load);
- ``CXR_FAULT_POINT=intake.write_film:enospc``: ``OSError(ENOSPC)`` is raised there each time, as a full
  disk would (where a test cannot mount a small file system); ``:eio`` raises ``OSError(EIO)``.

Every point is declared once in :data:`FAULT_POINTS` with what has happened when it fires; a variable
naming an unknown point is refused at start-up (:func:`check_environment`), so a typo cannot make a
fault test pass by never firing. Other parts of the program add their own points to the table.
"""

from __future__ import annotations

import errno
import os
import signal
import threading

from cxr_regions.errors import UserError

ENVIRONMENT = "CXR_FAULT_POINT"

FAULT_POINTS: dict[str, str] = {
    "intake.received": "the file is in DATA/incoming, nothing decoded, no row",
    "intake.decoded": "the film is decoded into DATA/incoming, no row",
    "intake.row_added": "the film's row is committed as 'receiving', no file in DATA/films",
    "intake.write_film": "a film file is about to be written under its temporary name in DATA/films",
    "intake.file_written": "the film file is written and fsynced under its temporary name, not renamed",
    "intake.file_renamed": "the film file has its final name, the row is still 'receiving'",
    "intake.queued": "the row is committed as 'queued', the answer has not gone back",
    "heatmaps.written": "some of a film's five heatmaps are in the cache, not all",
    "pacs.fetched": "an instance is retrieved into DATA/incoming, not yet taken in",
    "pacs.sent": "a film's result objects are stored in the PACS, not yet recorded as sent",
}

ERRORS = {"enospc": errno.ENOSPC, "eio": errno.EIO}

_hits: dict[str, int] = {}
_lock = threading.Lock()


def _parse(value: str) -> tuple[str, str, int]:
    """``NAME[@N][:ACTION]`` -> (name, action, n); action ``kill`` unless given."""
    spec, _, action = value.partition(":")
    name, _, count = spec.partition("@")
    return name.strip(), (action.strip().lower() or "kill"), int(count) if count.strip() else 1


def check_environment() -> None:
    """Raise :class:`UserError` if ``CXR_FAULT_POINT`` is set to something that can never fire."""
    value = os.environ.get(ENVIRONMENT, "").strip()
    if not value:
        return
    try:
        name, action, count = _parse(value)
    except ValueError:
        raise UserError(f"{ENVIRONMENT}={value!r}: write NAME, NAME@N or NAME:enospc") from None
    if name not in FAULT_POINTS:
        raise UserError(
            f"{ENVIRONMENT}={value!r}: no such fault point; the points: {', '.join(FAULT_POINTS)}"
        )
    if action != "kill" and action not in ERRORS:
        raise UserError(f"{ENVIRONMENT}={value!r}: the action is kill (default), enospc or eio")
    if count < 1:
        raise UserError(f"{ENVIRONMENT}={value!r}: @N counts from 1")


def fault_point(name: str) -> None:
    """Die (SIGKILL) or raise ``OSError`` here if ``CXR_FAULT_POINT`` names this point; else nothing."""
    value = os.environ.get(ENVIRONMENT)
    if not value:
        return
    wanted, action, count = _parse(value)
    if wanted != name:
        return
    if action in ERRORS:
        code = ERRORS[action]
        raise OSError(code, f"{os.strerror(code)} (injected at fault point {name})")
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        if _hits[name] == count:
            os.kill(os.getpid(), signal.SIGKILL)
