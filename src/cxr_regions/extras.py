"""Install by need: the optional extras of ``cxr-regions`` and the check a command makes at its start.

``pip install cxr-regions`` installs what label -> ingest -> build -> train -> evaluate -> explain ->
report (and ``demo``) need. The reading room, the PACS link, the Dask engine, the English gold reports
and the starting points' libraries are extras (``pip install 'cxr-regions[serve]'``); a command that
needs one calls :func:`require_extra` first, so a missing extra is a message that names the extra
and the ``pip`` line, with exit status 2, not an ``ImportError`` traceback halfway through a run.

:data:`EXTRAS` is the one table of which distributions each extra installs and the module each
provides; ``tests/test_extras.py`` checks it against ``pyproject.toml`` and checks that the core
stages import nothing outside the core dependencies.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass

from cxr_regions.errors import UserError


@dataclass(frozen=True)
class Extra:
    """One optional extra: what it is for, distribution -> the top-level module it provides, and a
    sentence added after the ``pip`` line where there is a lighter way to install it."""

    purpose: str
    provides: Mapping[str, str]
    hint: str = ""


EXTRAS: dict[str, Extra] = {
    "serve": Extra(
        "the reading room",
        {
            "fastapi": "fastapi",
            "starlette": "starlette",
            "uvicorn": "uvicorn",
            "python-multipart": "python_multipart",
            "sqlalchemy": "sqlalchemy",
            "alembic": "alembic",
            "argon2-cffi": "argon2",
            "itsdangerous": "itsdangerous",
            "watchdog": "watchdog",
        },
    ),
    "pacs": Extra(
        "the PACS link (DICOMweb, DICOM C-STORE, result objects)",
        {
            "dicomweb-client": "dicomweb_client",
            "highdicom": "highdicom",
            "pynetdicom": "pynetdicom",
            "requests": "requests",
            "urllib3": "urllib3",
            "httpx": "httpx",
        },
    ),
    "cluster": Extra("the Dask engine", {"dask": "dask", "distributed": "distributed"}),
    "english": Extra(
        "the IU X-ray English gold reports",
        {"torchxrayvision": "torchxrayvision"},
        "the reports alone need only the wheel, without its dependencies: "
        "pip install --no-deps torchxrayvision",
    ),
    "txv": Extra("torchxrayvision's chest X-ray weights", {"torchxrayvision": "torchxrayvision"}),
    "timm": Extra("timm's backbones", {"timm": "timm", "huggingface-hub": "huggingface_hub"}),
    "hf": Extra(
        "Hugging Face transformers encoders",
        {"transformers": "transformers", "huggingface-hub": "huggingface_hub"},
    ),
}


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported here (found without importing them)."""
    missing = []
    for module in EXTRAS[extra].provides.values():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a broken or blocked package counts as absent
            found = False
        if not found:
            missing.append(module)
    return missing


def require_extra(extra: str, what: str) -> None:
    """Raise :class:`UserError` naming ``extra`` and its ``pip`` line if any of its modules is missing.

    ``what`` is what needs it, as the user typed it (``"cxr-regions serve"``, ``"--engine dask"``).
    """
    missing = missing_modules(extra)
    if missing:
        hint = f"; {EXTRAS[extra].hint}" if EXTRAS[extra].hint else ""
        raise UserError(
            f"{what} needs the [{extra}] extra ({EXTRAS[extra].purpose}), which is not installed "
            f"(missing: {', '.join(missing)}): pip install 'cxr-regions[{extra}]'{hint}"
        )
