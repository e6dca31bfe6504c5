"""The reading room's settings (saved as ``serve.config.yaml`` in the data folder)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cxr_regions.configfile import save_config
from cxr_regions.errors import UserError

CONFIG_FILE = "serve.config.yaml"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
LOCAL_READER = "local"
FILES_PER_UPLOAD = 20


@dataclass
class ServeConfig:
    """Where the model and the data are, who may log in, and the limits on what comes in.

    ``data`` holds the database, the films, the heatmap cache, the de-identification salt and
    the session secret. ``users`` (a file made by ``serve-user add``) turns logins on; without it
    the reader is ``local`` and only a loopback host is allowed. ``thresholds``: an evaluation
    folder (or its ``thresholds.csv``); otherwise every region is called at 0.5.
    """

    run: Path
    data: Path
    host: str = "127.0.0.1"
    port: int = 8000
    users: Path | None = None
    thresholds: Path | None = None
    watch: Path | None = None
    reports: Path | None = None
    max_upload_mb: float = 64.0
    workers: int = 1
    method: str = "layercam"
    device: str = "auto"
    demo: bool = True
    poll_seconds: float = 0.5
    pacs: str | None = None
    pacs_auth: str | None = None
    pacs_poll: float = 30.0
    pacs_query: str | None = None
    send_results: bool = False
    pacs_max_backoff: float = 300.0
    # seconds a database write waits for a lock another process (a backup, a second tool) holds before
    # the upload or verdict fails with "database is locked" (nothing half-stored; send it again)
    db_busy_timeout: float = 30.0

    def validate(self) -> None:
        """Raise :class:`UserError` for settings that cannot work or would expose patient films."""
        problems = []
        if self.host not in LOCAL_HOSTS and self.users is None:
            problems.append(
                f"--host {self.host} would open the reading room to the network without logins; "
                "make a users file with `cxr-regions serve-user add NAME --users users.yaml` and pass "
                "--users users.yaml, or keep --host 127.0.0.1"
            )
        if self.users is not None and not Path(self.users).is_file():
            problems.append(
                f"users file {self.users} does not exist; make it with `cxr-regions serve-user add`"
            )
        if not Path(self.run).exists():
            problems.append(
                f"run folder {self.run} does not exist; pass the folder `cxr-regions train` wrote"
            )
        if self.watch is not None and not Path(self.watch).is_dir():
            problems.append(f"watch folder {self.watch} does not exist or is not a folder")
        if self.reports is not None and not Path(self.reports).is_file():
            problems.append(f"report table {self.reports} does not exist")
        if self.thresholds is not None and not Path(self.thresholds).exists():
            problems.append(f"thresholds {self.thresholds} do not exist; pass an evaluation folder")
        if self.max_upload_mb <= 0:
            problems.append(f"--max-upload-mb must be positive, got {self.max_upload_mb}")
        if self.db_busy_timeout <= 0:
            problems.append(f"--db-busy-timeout must be positive, got {self.db_busy_timeout} s")
        if self.workers < 1:
            problems.append(f"--workers must be at least 1, got {self.workers}")
        if self.pacs is not None:
            from cxr_regions.pacs import parse_query

            if not self.pacs.startswith(("http://", "https://")):
                problems.append(f"--pacs {self.pacs!r} must be the PACS's DICOMweb root URL (http://...)")
            try:
                parse_query(self.pacs_query)
            except UserError as exc:
                problems.append(str(exc))
            if self.pacs_poll <= 0:
                problems.append(f"--poll must be positive, got {self.pacs_poll} s")
        elif self.send_results or self.pacs_auth:
            problems.append("--send-results and --pacs-auth need --pacs URL")
        if not 1 <= self.port <= 65535:
            problems.append(f"--port must be 1-65535, got {self.port}")
        if problems:
            raise UserError("; ".join(problems))

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def logins(self) -> bool:
        return self.users is not None

    def save(self) -> Path:
        """Write the settings as ``serve.config.yaml`` in the data folder."""
        Path(self.data).mkdir(parents=True, exist_ok=True)
        return save_config(self, Path(self.data) / CONFIG_FILE, command="serve")


def parse_duration(text: str) -> float:
    """``30s``, ``2m``, ``1h`` or plain seconds (``30``) -> seconds."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    value = text.strip().lower()
    scale = units.get(value[-1:])
    number = value[:-1] if scale else value
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError:
        raise UserError(f"--poll {text!r} is not a duration such as 30s, 2m or 30") from None
    if seconds <= 0:
        raise UserError(f"--poll must be positive, got {text!r}")
    return seconds
