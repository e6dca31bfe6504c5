"""docs/data-contracts.md is tested against the records: every file has its section, and every
field of every record (columns of every table, keys of every JSON document, down to the nested
records) is named there, in backticks, in that file's section."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from cxr_regions.contracts.catalog import DOCUMENTS, TABLES, YAML_FILES
from cxr_regions.contracts.core import describe
from cxr_regions.contracts.names import CONTRACT_FILES

DOC = Path(__file__).resolve().parents[1] / "docs" / "data-contracts.md"


def sections() -> dict[str, str]:
    """Heading -> text of each ``## `` section."""
    parts = re.split(r"^## ", DOC.read_text(encoding="utf-8"), flags=re.M)
    return {part.splitlines()[0]: part for part in parts[1:]}


def section_of(file: str) -> str:
    """The section whose heading names the file, or which names it first in its text."""
    found = [text for head, text in sections().items() if f"`{file}`" in head]
    found = found or [text for text in sections().values() if f"`{file}`" in text]
    assert found, f"docs/data-contracts.md has no section naming `{file}`"
    return found[0]


def records(model: type[BaseModel]) -> list[type[BaseModel]]:
    """The model and every record type its fields hold (in lists, dicts or optionals)."""
    out, todo = [], [model]
    while todo:
        current = todo.pop()
        if current in out:
            continue
        out.append(current)
        for info in current.model_fields.values():
            stack = [info.annotation]
            while stack:
                kind = stack.pop()
                if isinstance(kind, type) and issubclass(kind, BaseModel):
                    todo.append(kind)
                stack += list(typing.get_args(kind))
    return out


CONTRACTS = [(d.FILE, d) for d in (*DOCUMENTS, *YAML_FILES)] + [(t.file, t.row) for t in TABLES]


def test_every_contract_file_is_in_the_catalog():
    assert sorted(file for file, _ in CONTRACTS) == sorted(CONTRACT_FILES)


@pytest.mark.parametrize(("file", "model"), CONTRACTS, ids=[file for file, _ in CONTRACTS])
def test_the_doc_names_every_field(file, model):
    text = section_of(file)
    missing = [
        f"{m.__name__}.{name}" for m in records(model) for name in describe(m) if f"`{name}`" not in text
    ]
    assert not missing, f"docs/data-contracts.md, section of `{file}`, does not name: {missing}"


def test_every_field_says_what_it_means():
    vague = [
        f"{m.__name__}.{k}"
        for _, model in CONTRACTS
        for m in records(model)
        for k, v in describe(m).items()
        if not v
    ]
    assert not vague, f"fields without a description: {vague}"


def test_the_doc_states_the_schema_version_rule():
    text = DOC.read_text(encoding="utf-8")
    assert "schema_version" in text and "version 1" in text
    for document in DOCUMENTS:
        assert f"`{document.FILE}`" in text
