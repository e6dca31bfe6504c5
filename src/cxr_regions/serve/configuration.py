"""The reading room's settings (saved as ``serve.config.yaml`` in the data folder)."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cxr_regions.configfile import save_config
from cxr_regions.errors import UserError
from cxr_regions.options import cli, comma_list, duration
from cxr_regions.pacs.query import DEFAULT_QUERY, parse_query

if TYPE_CHECKING:
    from cxr_regions.pacs.listener import ListenerConfig

CONFIG_FILE = "serve.config.yaml"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
LOCAL_READER = "local"
FILES_PER_UPLOAD = 20
POLL_MODES = ("auto", "changes", "window", "off")


@dataclass
class ServeConfig:
    """Where the model and the data are, who may log in, and the limits on what comes in.

    ``data`` holds the database, the films, the heatmap cache, the de-identification salt and
    the session secret. ``users`` (a file made by ``serve-user add``) turns logins on; without it
    the reader is ``local`` and only a loopback host is allowed. ``thresholds``: an evaluation
    folder (or its ``thresholds.csv``); otherwise every region is called at 0.5.
    """

    run: Path = field(
        metadata=cli("Run folder (`cxr-regions train` output) whose model reads films.", argument=True)
    )
    data: Path = field(
        default=Path("reading-room"),
        metadata=cli("Folder for the database, the films and the heatmap cache."),
    )
    host: str = field(default="127.0.0.1", metadata=cli("Address to bind; others need --users."))
    port: int = field(default=8000, metadata=cli("TCP port."))
    users: Path | None = field(
        default=None, metadata=cli("Users file (`cxr-regions serve-user add`): logins on.")
    )
    thresholds: Path | None = field(
        default=None,
        metadata=cli("Evaluation folder or thresholds.csv (default: RUN/evaluation, else 0.5 per region)."),
    )
    watch: Path | None = field(
        default=None, metadata=cli("Folder to take new DICOM files from (PACS export).")
    )
    reports: Path | None = field(
        default=None, metadata=cli("Report table (accession_number + findings/impression or text).")
    )
    max_upload_mb: float = field(default=64.0, metadata=cli("Largest file one may upload."))
    workers: int = field(default=1, metadata=cli("Inference threads."))
    method: str = field(default="layercam", metadata=cli("Heatmap method (as `explain --method`)."))
    device: str = field(default="auto", metadata=cli("cpu, cuda or auto."))
    threads: int = field(default=1, metadata=cli("PyTorch threads."))
    demo: bool = True
    poll_seconds: float = 0.5
    pacs: str | None = field(
        default=None,
        metadata=cli("PACS DICOMweb root to take new chest films from, e.g. http://localhost:8042/dicom-web"),
    )
    pacs_auth: str | None = field(default=None, metadata=cli("USER:PASSWORD-FILE for the PACS (basic auth)."))
    pacs_poll: float = field(
        default=30.0,
        metadata=cli(
            "How often to ask the PACS for new films (30s, 2m).",
            "--poll",
            type=str,
            parse=lambda t: parse_duration(t),
            show="30s",
        ),
    )
    pacs_query: str | None = field(
        default=DEFAULT_QUERY,
        metadata=cli("QIDO-RS filters KEY=VALUE joined by &; \\ separates alternatives.", "--query"),
    )
    send_results: bool = field(
        default=False,
        metadata=cli("Send each film's Secondary Capture + SR (and verdicts) back to the PACS."),
    )
    pacs_max_backoff: float = field(
        default=300.0, metadata=cli("Longest wait in seconds between two tries of one PACS object.")
    )
    dicom_port: int | None = field(
        default=None,
        metadata=cli(
            "Run a DICOM listener (C-STORE SCP, C-ECHO) on this port: the PACS pushes films to it "
            "(the usual way; then polling is off unless --poll-mode says otherwise).",
            type=int,
        ),
    )
    ae_title: str = field(default="CXR-REGIONS", metadata=cli("The DICOM listener's AE title."))
    calling_aets: tuple[str, ...] = field(
        default=(),
        metadata=cli(
            "AE titles allowed to send films to the listener, comma-separated (the PACS's own); "
            "needed where --dicom-host is not loopback.",
            type=str,
            parse=comma_list,
            show="",
        ),
    )
    dicom_host: str = field(
        default="127.0.0.1", metadata=cli("Address the DICOM listener binds; others need --calling-aets.")
    )
    dicom_tls_cert: Path | None = field(
        default=None,
        metadata=cli("DICOM TLS: the listener's certificate (PEM); with --dicom-tls-key, TLS only."),
    )
    dicom_tls_key: Path | None = field(default=None, metadata=cli("DICOM TLS: the certificate's key (PEM)."))
    dicom_tls_ca: Path | None = field(
        default=None,
        metadata=cli("DICOM TLS: CA certificates (PEM); senders must then show a certificate from them."),
    )
    pacs_poll_mode: str = field(
        default="auto",
        metadata=cli(
            "How to find new films in the PACS: changes (Orthanc's change feed), window (a StudyDate "
            "window with overlap, and a full search daily), off (the PACS pushes them to --dicom-port), "
            "auto (off with --dicom-port, else changes where the PACS is an Orthanc, else window).",
            "--poll-mode",
        ),
    )
    pacs_jobs: int = field(
        default=4, metadata=cli("PACS objects fetched or sent at once (each failing on its own).")
    )
    pacs_attempts: int = field(
        default=8,
        metadata=cli("Tries of one PACS object before it is set aside (`cxr-regions pacs retry`)."),
    )
    pacs_retry_base: float = field(
        default=2.0,
        metadata=cli("Seconds before an object's 2nd try; doubling, jittered, up to --pacs-max-backoff."),
    )
    pacs_connect_timeout: float = field(
        default=5.0, metadata=cli("Seconds to wait for the PACS to accept a connection.")
    )
    pacs_read_timeout: float = field(
        default=30.0, metadata=cli("Seconds to wait for the next piece of a PACS answer.")
    )
    sc_syntax: str | None = field(
        default=None,
        metadata=cli(
            "Transfer syntax of the Secondary Capture sent back: jpeg2000-lossless (the default), "
            "jpeg-ls-lossless, rle-lossless or uncompressed; where the PACS refuses a compressed one, "
            "that film's goes uncompressed.",
            type=str,
        ),
    )
    session_idle_minutes: float = field(
        default=30.0,
        metadata=cli("Minutes without a request after which a login ends (the user logs in again)."),
    )
    session_max_hours: float = field(
        default=12.0, metadata=cli("Hours after which a login ends however busy it is.")
    )
    tls_cert: Path | None = field(
        default=None, metadata=cli("TLS certificate (PEM, chain included): serve HTTPS; needs --tls-key.")
    )
    tls_key: Path | None = field(default=None, metadata=cli("The TLS certificate's private key (PEM)."))
    forwarded_allow_ips: str | None = field(
        default=None,
        metadata=cli(
            "Addresses or networks of trusted reverse proxies, comma-separated (as uvicorn names it): "
            "the client's address and https come from their X-Forwarded-For/-Proto headers, never "
            "from anyone else's."
        ),
    )
    # a database write waits this long for a lock another process (a backup, a second tool) holds, then
    # the upload or verdict fails with "database is locked" (nothing half-stored; send it again)
    db_busy_timeout: float = field(
        default=30.0, metadata=cli("Seconds a database write waits while another process holds it locked.")
    )

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
            if not self.pacs.startswith(("http://", "https://")):
                problems.append(f"--pacs {self.pacs!r} must be the PACS's DICOMweb root URL (http://...)")
            try:
                parse_query(self.pacs_query)
            except UserError as exc:
                problems.append(str(exc))
            if self.pacs_poll <= 0:
                problems.append(f"--poll must be positive, got {self.pacs_poll} s")
            problems += self._link_problems()
        elif self.send_results or self.pacs_auth:
            problems.append("--send-results and --pacs-auth need --pacs URL")
        if self.dicom_port is not None:
            problems += self._dicom_tls_problems()
            try:
                self.listener_config(with_tls=False).validate()
            except UserError as exc:
                problems.append(str(exc))
        if not 1 <= self.port <= 65535:
            problems.append(f"--port must be 1-65535, got {self.port}")
        problems += self._session_problems()
        if problems:
            raise UserError("; ".join(problems))

    def _link_problems(self) -> list[str]:
        from cxr_regions.pacs import SC_SYNTAXES  # here: cxr-regions --help imports this module (cv2)

        problems = []
        if self.pacs_jobs < 1:
            problems.append(f"--pacs-jobs must be at least 1, got {self.pacs_jobs}")
        if self.pacs_attempts < 1:
            problems.append(f"--pacs-attempts must be at least 1, got {self.pacs_attempts}")
        if self.pacs_retry_base <= 0 or self.pacs_max_backoff <= 0:
            problems.append(
                f"--pacs-retry-base and --pacs-max-backoff must be positive seconds; got "
                f"{self.pacs_retry_base} and {self.pacs_max_backoff}"
            )
        if self.pacs_connect_timeout <= 0 or self.pacs_read_timeout <= 0:
            problems.append("--pacs-timeout values must be positive seconds")
        if self.pacs_poll_mode not in POLL_MODES:
            problems.append(f"--poll-mode {self.pacs_poll_mode!r} must be one of {', '.join(POLL_MODES)}")
        if self.sc_syntax is not None and self.sc_syntax not in SC_SYNTAXES:
            problems.append(f"--sc-syntax {self.sc_syntax!r} must be one of {', '.join(SC_SYNTAXES)}")
        return problems

    def _dicom_tls_problems(self) -> list[str]:
        given = [p for p in (self.dicom_tls_cert, self.dicom_tls_key, self.dicom_tls_ca) if p is not None]
        problems = [f"DICOM TLS file {p} does not exist" for p in given if not Path(p).is_file()]
        if given and (self.dicom_tls_cert is None or self.dicom_tls_key is None):
            problems.append("DICOM TLS needs both --dicom-tls-cert and --dicom-tls-key")
        return problems

    def listener_config(self, with_tls: bool = True) -> ListenerConfig:
        """The DICOM listener's settings (``--dicom-port`` ...), received films first under DATA."""
        from cxr_regions.pacs.listener import ListenerConfig  # here: cxr-regions --help imports this module

        context = None
        if with_tls and self.dicom_tls_cert is not None and self.dicom_tls_key is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self.dicom_tls_cert), str(self.dicom_tls_key))
            if self.dicom_tls_ca is not None:  # mutual TLS: only senders the hospital's CA vouches for
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(str(self.dicom_tls_ca))
        return ListenerConfig(
            ae_title=self.ae_title, port=int(self.dicom_port or 0), folder=Path(self.data) / "received",
            address=self.dicom_host, calling_aets=list(self.calling_aets), ssl_context=context,
        )  # fmt: skip

    @property
    def polling(self) -> str:
        """How the link looks for new films: ``off``, or a :class:`~cxr_regions.pacs.PollConfig` mode."""
        if self.pacs_poll_mode == "auto" and self.dicom_port is not None:
            return "off"
        return self.pacs_poll_mode

    def _session_problems(self) -> list[str]:
        problems = []
        if self.session_idle_minutes <= 0:
            problems.append(f"--session-idle-minutes must be positive, got {self.session_idle_minutes}")
        if self.session_max_hours <= 0:
            problems.append(f"--session-max-hours must be positive, got {self.session_max_hours}")
        if (self.tls_cert is None) != (self.tls_key is None):
            problems.append("--tls-cert and --tls-key go together: give both, or neither")
        elif self.tls_cert is not None and self.tls_key is not None:
            problems += _tls_problems(Path(self.tls_cert), Path(self.tls_key))
        for item in trusted_proxies(self.forwarded_allow_ips):
            if item == "*":
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                problems.append(
                    f"--forwarded-allow-ips: {item!r} is not an IP address or network (e.g. 127.0.0.1, "
                    "10.0.0.0/8); name the reverse proxies by address"
                )
        return problems

    def warnings(self) -> list[str]:
        """Settings that work but that a hospital's IT team should hear about at start."""
        out = []
        if self.host not in LOCAL_HOSTS and not self.tls:
            proxy = (
                f"; only the proxies of --forwarded-allow-ips ({self.forwarded_allow_ips}) should reach "
                f"port {self.port}"
                if self.forwarded_allow_ips
                else ""
            )
            out.append(
                f"serving http://{self.host}:{self.port}/ beyond this computer without TLS: passwords, "
                "session cookies and films cross the network readable by anyone on it; give "
                f"--tls-cert/--tls-key, or put a TLS reverse proxy in front (docs/reading-room.md){proxy}"
            )
        if "*" in trusted_proxies(self.forwarded_allow_ips):
            out.append(
                "--forwarded-allow-ips '*' trusts X-Forwarded-For from every client: anyone can choose "
                "the address the login throttle and the audit trail see; name the proxies instead"
            )
        return out

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None and self.tls_key is not None

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


def trusted_proxies(value: str | None) -> list[str]:
    """The items of ``--forwarded-allow-ips`` (empty: trust no forwarded header)."""
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _tls_problems(cert: Path, key: Path) -> list[str]:
    """Whether the certificate and key load (as uvicorn will load them), said before anything starts."""
    missing = [f"{name} {path} does not exist" for name, path in (("--tls-cert", cert), ("--tls-key", key))
               if not path.is_file()]  # fmt: skip
    if missing:
        return missing
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key, password=lambda: b"")
    except (ssl.SSLError, OSError, ValueError) as exc:
        return [
            f"--tls-cert {cert} / --tls-key {key} do not load ({exc}); both must be PEM files and the "
            "key must belong to the certificate (a key with a passphrase is not supported)"
        ]
    return []


def parse_duration(text: str | float) -> float:
    """``30s``, ``2m``, ``1h`` or plain seconds (``30``) -> seconds, for ``--poll``."""
    try:
        return duration(text)
    except UserError as exc:
        raise UserError(f"--poll: {exc}") from None
