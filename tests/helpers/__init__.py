"""What test modules import: where ../shared/data lies, and one PyTorch thread for small tensors.

The other helpers are the modules beside this one: ``helpers.serve`` (the reading room),
``helpers.sessions``, ``helpers.pacs``, ``helpers.pacs_results``, ``helpers.pacs_faults``,
``helpers.viewer_films``, ``helpers.pictures`` and ``helpers.starting_points``. Fixtures live in
``tests/conftest.py``; test modules never import it, nor one another.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("CXR_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real test data not found at {path} (the ../shared checkout is absent)")
    return path


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """One PyTorch thread while inside: faster than two for the tests' small tensors on the shared
    two-core machine, and it keeps one test's threads from slowing another job's."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
