"""Ingest's resume journal: an append-only record of the films already written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cxr_regions.errors import UserError
from cxr_regions.fileio import write_text


class Journal:
    """Append-only record of finished films (``{"key", "image_id"}`` lines after a settings header).

    Opening a journal written with another settings ``fingerprint`` raises :class:`UserError`: a resumed
    run must produce the same files as the run it continues.
    """

    def __init__(self, path: Path, fingerprint: dict[str, Any]) -> None:
        self.path = path
        self.entries: dict[str, str] = {}
        if path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            header = _json_or_none(lines[0]) if lines else None
            previous = (header or {}).get("settings")
            if previous is not None and previous != fingerprint:
                changed = ", ".join(
                    f"{k} {previous.get(k)!r} -> {v!r}"
                    for k, v in fingerprint.items()
                    if previous.get(k) != v
                )
                raise UserError(
                    f"{path.parent} holds an ingest made with other settings ({changed}); use a new output "
                    "folder, or run again with the same settings (and --salt-file) to resume"
                )
            for line in lines[1:]:
                record = _json_or_none(line)
                if isinstance(record, dict) and "key" in record and "image_id" in record:
                    self.entries[record["key"]] = record["image_id"]
        self.fingerprint = fingerprint
        self.rewrite(self.entries)
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the whole run

    def rewrite(self, entries: dict[str, str]) -> None:
        """Atomically replace the journal with ``entries`` (drops torn lines and stale films)."""
        self.entries = dict(entries)
        lines = [json.dumps({"settings": self.fingerprint})]
        lines += [json.dumps({"key": k, "image_id": v}) for k, v in sorted(self.entries.items())]
        write_text(self.path, "\n".join(lines) + "\n")

    def add(self, key: str, film_id: str) -> None:
        """Record one finished film (flushed at once, so a killed run keeps it)."""
        self.entries[key] = film_id
        self._fh.write(json.dumps({"key": key, "image_id": film_id}) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def _json_or_none(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None
