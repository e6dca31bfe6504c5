"""Typed configuration saved next to every output it produced."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
from pathlib import Path
from typing import Any

import yaml

from cxr_regions import __version__
from cxr_regions.fileio import write_text


def to_dict(config: Any) -> dict[str, Any]:
    """A dataclass (or pydantic model, or dict) as plain YAML-safe data."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        data = dataclasses.asdict(config)
    elif hasattr(config, "model_dump"):
        data = config.model_dump(mode="json")
    else:
        data = dict(config)
    plain: dict[str, Any] = _plain(data)  # a mapping stays a mapping
    return plain


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (os.PathLike, Path)):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def save_config(config: Any, path: str | os.PathLike[str], command: str | None = None) -> Path:
    """Write ``config`` as YAML, with the package version, the command and the time."""
    doc = {
        "cxr_regions_version": __version__,
        "command": command,
        "written_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "config": to_dict(config),
    }
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    return write_text(path, text)


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read back the ``config`` block of a file written by :func:`save_config`."""
    doc: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    config: dict[str, Any] = doc.get("config", doc)
    return config
