"""A local Orthanc (the open-source PACS) with its DICOMweb plugin: for trying ``serve --pacs``, the
tests and the pull benchmark. Debian's ``orthanc`` and ``orthanc-dicomweb`` packages provide both.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ORTHANC = os.environ.get("CXR_ORTHANC", "/usr/sbin/Orthanc")
DICOMWEB_PLUGIN = os.environ.get("CXR_ORTHANC_DICOMWEB", "/usr/share/orthanc/plugins/libOrthancDicomWeb.so")


def orthanc_config(
    folder: Path, http_port: int = 8042, dicom_port: int = 4242, users: dict[str, str] | None = None
) -> dict:
    """An Orthanc configuration: storage under ``folder``, DICOMweb at ``/dicom-web/``, loopback only,
    HTTP basic auth where ``users`` are given."""
    return {
        "Name": "cxr-regions-orthanc",
        "StorageDirectory": str(Path(folder) / "storage"),
        "IndexDirectory": str(Path(folder) / "index"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": bool(users),
        "RegisteredUsers": dict(users or {}),
        "Plugins": [DICOMWEB_PLUGIN],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
    }


def missing() -> str | None:
    """Why a local Orthanc cannot start here (None if it can)."""
    if not (Path(ORTHANC).is_file() or shutil.which(ORTHANC)):
        return f"Orthanc not found at {ORTHANC} (Debian: apt-get install orthanc orthanc-dicomweb)"
    if not Path(DICOMWEB_PLUGIN).is_file():
        return (
            f"Orthanc's DICOMweb plugin not found at {DICOMWEB_PLUGIN} "
            "(Debian: apt-get install orthanc-dicomweb)"
        )
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalOrthanc:
    """Orthanc on free ports with its storage in ``folder``; ``start()``/``stop()`` (by its pid) and again,
    keeping the same ports and storage, as a restarted PACS does. ``extra``: more configuration entries
    (e.g. ``{"OverwriteInstances": True}``)."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None, extra: dict | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.http_port = _free_port()
        self.dicom_port = _free_port()
        self.users = users
        self.config_path = self.folder / "orthanc.json"
        config = orthanc_config(self.folder, self.http_port, self.dicom_port, users)
        self.config_path.write_text(json.dumps({**config, **(extra or {})}, indent=2))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"

    def _auth(self):
        return next(iter(self.users.items())) if self.users else None

    def start(self, timeout: float = 60.0) -> LocalOrthanc:
        # here: httpx is the pacs extra
        import httpx

        log = open(self.folder / "orthanc.log", "ab")  # noqa: SIM115 - the child keeps it open
        self.process = subprocess.Popen(
            [ORTHANC, str(self.config_path)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Orthanc exited with {self.process.returncode}; see {self.folder}/orthanc.log"
                )
            try:
                if httpx.get(f"{self.url}/system", auth=self._auth(), timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Orthanc did not answer within {timeout} s; see {self.folder}/orthanc.log")

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def discard(self) -> None:
        """Kill it (SIGKILL), for a throwaway instance whose storage goes next: Orthanc's own orderly stop
        takes about 3 s (its HTTP and DICOM servers wind down), a test suite starts it dozens of times."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def upload(self, path: Path) -> dict:
        """Store one DICOM file through Orthanc's REST API (``POST /instances``)."""
        # here: httpx is the pacs extra
        import httpx

        response = httpx.post(
            f"{self.url}/instances", content=Path(path).read_bytes(), auth=self._auth(), timeout=60
        )
        response.raise_for_status()
        return response.json()

    def __enter__(self) -> LocalOrthanc:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
