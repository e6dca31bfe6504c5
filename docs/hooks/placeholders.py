"""Short stand-in pages for pages the navigation lists before their files exist.

An MkDocs hook (``hooks:`` in mkdocs.yml). Each page in ``PENDING`` that is not in ``docs/`` when the
site is built gets a generated page saying what it will hold, so the navigation can name it and
``mkdocs build --strict`` still passes. Once the real page lands, its file is used and the entry here
does nothing; remove it then.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("mkdocs.hooks.placeholders")

# page -> (title, what it will hold)
PENDING: dict[str, tuple[str, str]] = {}


def placeholder(title: str, holds: str) -> str:
    """The stand-in page's Markdown."""
    return f'# {title}\n\n!!! note "Being written"\n    This page will describe {holds}.\n'


def on_files(files: Any, config: Any) -> Any:
    """MkDocs event: add a stand-in page for every pending page that has no file yet."""
    from mkdocs.structure.files import File

    for page, (title, holds) in PENDING.items():
        if files.get_file_from_path(page) is None:
            log.info("placeholder page for %s (its file is not written yet)", page)
            files.append(File.generated(config, page, content=placeholder(title, holds)))
    return files
