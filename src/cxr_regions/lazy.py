"""Lazy package exports: public names load their submodule on first use, so ``--help`` stays fast."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` for ``package``: name -> submodule that defines it."""
    shadowed = sorted(name for name, module in exports.items() if name == module.split(".")[0])
    if shadowed:
        raise ValueError(
            f"{package}: exports {shadowed} are named like the submodule that defines them; once that "
            "submodule is imported, the package attribute would be the module, not the name"
        )
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *exports])

    return __getattr__, __dir__
