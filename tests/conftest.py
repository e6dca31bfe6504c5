"""Shared fixtures: where ../shared/data lies, and skipping cleanly where it does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CXR_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not found at {path} (the ../shared checkout is absent)")
    return path


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder (tests using it skip where it is absent)."""
    return shared_path()
