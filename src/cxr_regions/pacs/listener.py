"""A DICOM listener: the PACS pushes films to us over DICOM (C-STORE), as to any modality or workstation.

:class:`DicomListener` is a Storage SCP (every storage SOP class, every transfer syntax, kept as sent)
that also answers C-ECHO. Each received dataset is written, with its file meta information, to a
temporary file in the folder the caller names and fsynced; then the caller's ``on_film(path)`` decides
what becomes of it and returns a :class:`Decision`. The PACS gets its answer only after ``on_film``
returns, so "success" means the film is durably stored or queued:

=================  ========================  ==============================================================
``on_film`` says   C-STORE status            what the PACS does
=================  ========================  ==============================================================
``stored``         Success ``0x0000``        done
``refused``        Success ``0x0000``        done (a lateral, a non-chest film, a duplicate: on purpose,
                                             so the PACS does not send it again and again)
``no_space``       Out of Resources 0xA700   retries later
``failed``/raises  Processing Failure 0x0110 retries later
=================  ========================  ==============================================================

Whatever is still at the temporary path after ``on_film`` returns is deleted: ``on_film`` moves
(``os.replace``) what it keeps. A full disk while writing the temporary file is answered with 0xA700.

It listens on loopback unless told otherwise; any other address needs a list of calling AE titles,
and associations from any other AE title are rejected. DICOM TLS: pass an ``ssl.SSLContext``.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import shutil
import ssl
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, cast

from cxr_regions.errors import UserError

if TYPE_CHECKING:
    from pynetdicom.transport import ThreadedAssociationServer

log = logging.getLogger("cxr_regions.pacs")

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
PROCESSING_FAILURE = 0x0110
TEMP_PREFIX = "cstore-"
LOOPBACK = "127.0.0.1"


class Outcome(str, Enum):
    """What ``on_film`` did with a received film."""

    STORED = "stored"  # durably stored or queued
    REFUSED = "refused"  # not kept, on purpose (lateral, not a chest, duplicate)
    NO_SPACE = "no_space"  # could not be kept for lack of disk space
    FAILED = "failed"  # could not be kept for another reason


STATUS = {
    Outcome.STORED: SUCCESS,
    Outcome.REFUSED: SUCCESS,
    Outcome.NO_SPACE: OUT_OF_RESOURCES,
    Outcome.FAILED: PROCESSING_FAILURE,
}


@dataclass(frozen=True)
class Decision:
    """``on_film``'s answer: the outcome and a short reason (logged; sent to the PACS on failures).

    The reason must not name the patient."""

    outcome: Outcome
    reason: str = ""

    @property
    def status(self) -> int:
        return STATUS[self.outcome]

    @classmethod
    def stored(cls, reason: str = "") -> Decision:
        return cls(Outcome.STORED, reason)

    @classmethod
    def refused(cls, reason: str) -> Decision:
        return cls(Outcome.REFUSED, reason)

    @classmethod
    def no_space(cls, reason: str = "not enough disk space") -> Decision:
        return cls(Outcome.NO_SPACE, reason)

    @classmethod
    def failed(cls, reason: str) -> Decision:
        return cls(Outcome.FAILED, reason)


def check_ae_title(title: str, what: str = "--ae-title") -> str:
    """An AE title as DICOM allows it (1 to 16 printable ASCII characters, no backslash), stripped."""
    stripped = title.strip()
    if not stripped or len(stripped) > 16 or "\\" in stripped or not stripped.isascii():
        raise UserError(f"{what} {title!r} must be 1 to 16 ASCII characters without a backslash")
    if not stripped.isprintable():
        raise UserError(f"{what} {title!r} must be printable characters")
    return stripped


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@dataclass
class ListenerConfig:
    """Where and as whom the listener listens, whom it accepts, and where received films go first.

    ``port`` 0 takes a free port (see :attr:`DicomListener.port`). ``min_free_bytes``: below this much
    free space in ``folder`` a film is answered Out of Resources before it is written."""

    ae_title: str
    port: int
    folder: Path
    address: str = LOOPBACK
    calling_aets: Sequence[str] = ()
    max_associations: int = 10
    ssl_context: ssl.SSLContext | None = None
    min_free_bytes: int = 64 * 1024 * 1024
    network_timeout: float = 60.0
    dimse_timeout: float = 60.0
    acse_timeout: float = 30.0

    def validate(self) -> None:
        self.ae_title = check_ae_title(self.ae_title)
        self.calling_aets = [check_ae_title(a, "--calling-aets entry") for a in self.calling_aets]
        if not 0 <= self.port <= 65535:
            raise UserError(f"--dicom-port {self.port} must be between 1 and 65535")
        if not is_loopback(self.address) and not self.calling_aets:
            raise UserError(
                f"the DICOM listener binds to {self.address}, which is not loopback: give the PACS's "
                "AE title(s) with --calling-aets so that only they may send films"
            )
        if self.max_associations < 1:
            raise UserError(f"max_associations must be at least 1, got {self.max_associations}")


class DicomListener:
    """A C-STORE (and C-ECHO) SCP handing each received film to ``on_film``; ``start()``/``stop()``
    or a ``with`` block. ``on_film`` runs on the association's thread: several at once when several
    associations are open, so it must be thread-safe."""

    def __init__(self, config: ListenerConfig, on_film: Callable[[Path], Decision]) -> None:
        config.validate()
        self.config = config
        self.on_film = on_film
        self.folder = Path(config.folder)
        self._server: ThreadedAssociationServer | None = None
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {o.value: 0 for o in Outcome}

    @property
    def port(self) -> int:
        """The port listened on (the free port chosen where the config said 0)."""
        if self._server is None:
            return self.config.port
        return int(self._server.server_address[1])

    def start(self) -> DicomListener:
        from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
        from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]  # made at import

        _quiet_library()
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(f"{TEMP_PREFIX}*"):  # never answered: the PACS sends them again
            stale.unlink(missing_ok=True)
        ae = AE(ae_title=self.config.ae_title)
        for context in AllStoragePresentationContexts:
            ae.add_supported_context(cast(str, context.abstract_syntax), ALL_TRANSFER_SYNTAXES)  # all set
        ae.add_supported_context(Verification)
        ae.require_called_aet = True
        ae.require_calling_aet = list(self.config.calling_aets)
        ae.maximum_associations = self.config.max_associations
        ae.network_timeout = self.config.network_timeout
        ae.dimse_timeout = self.config.dimse_timeout
        ae.acse_timeout = self.config.acse_timeout
        try:
            self._server = ae.start_server(
                (self.config.address, self.config.port),
                block=False,
                evt_handlers=[(evt.EVT_C_STORE, self._handle_store)],
                ssl_context=self.config.ssl_context,
            )
        except OSError as exc:
            raise UserError(
                f"the DICOM listener cannot listen on {self.config.address}:{self.config.port}: "
                f"{exc.strerror or exc} (is the port taken?)"
            ) from None
        log.info(
            "DICOM listener %s on %s:%d%s", self.config.ae_title, self.config.address, self.port,
            " (TLS)" if self.config.ssl_context else "",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def __enter__(self) -> DicomListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handle_store(self, event):
        """One C-STORE request: write, fsync, hand over, answer."""
        from pydicom import Dataset

        calling = event.assoc.requestor.ae_title
        path = self.folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}.dcm"
        try:
            decision = self._keep(event, path)
        finally:
            path.unlink(missing_ok=True)
        with self._lock:
            self.counts[decision.outcome.value] += 1
        reason = f", {decision.reason}" if decision.reason else ""
        log.info(
            "C-STORE from %s: %s%s (status 0x%04X)", calling, decision.outcome.value, reason, decision.status
        )
        answer = Dataset()
        answer.Status = decision.status
        if decision.status != SUCCESS and decision.reason:
            answer.ErrorComment = decision.reason[:64]
        return answer

    def _keep(self, event, path: Path) -> Decision:
        free = shutil.disk_usage(self.folder).free
        if free < self.config.min_free_bytes:
            return Decision.no_space(f"only {free // 2**20} MiB free for received films")
        try:
            write_durably(path, event.encoded_dataset())
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                return Decision.no_space()
            log.exception("could not write a received film to %s", self.folder)
            return Decision.failed("could not write the film")
        except Exception:
            log.exception("could not encode a received film")
            return Decision.failed("could not read the dataset")
        try:
            decision = self.on_film(path)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                return Decision.no_space()
            log.exception("on_film failed")
            return Decision.failed(f"{type(exc).__name__} while keeping the film")
        except Exception as exc:
            log.exception("on_film failed")
            return Decision.failed(f"{type(exc).__name__} while keeping the film")
        if not isinstance(decision, Decision):
            log.error("on_film returned %r, not a Decision", type(decision).__name__)
            return Decision.failed("internal error")
        return decision


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and fsync the file and its folder."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _quiet_library() -> None:
    """pynetdicom logs every association at INFO; keep that at DEBUG-only unless someone set a level."""
    library = logging.getLogger("pynetdicom")
    if library.level == logging.NOTSET:
        library.setLevel(logging.WARNING)
