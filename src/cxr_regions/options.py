"""Command-line options generated from a typed configuration, so that each default lives in one place.

A config dataclass describes its fields with :func:`cli` metadata (help text, option names); a
command declares ``**options`` and :func:`options_from` gives it one typer option per field, with
the field's type and default. The command then builds the config from what it receives.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import typer

_KEY = "cli"


def cli(help: str, *flags: str, type: Any = None, argument: bool = False) -> dict[str, Any]:
    """Field metadata for a config dataclass: ``field(default=..., metadata=cli("Help.", "-o", "--out"))``.

    ``flags``: the option's names (default ``--field-name``; ``"--x/--no-x"`` for an on/off switch).
    ``type``: the type the command line parses, where the field's own is not one typer knows
    (e.g. ``str | int``). ``argument``: a positional argument instead of an option.
    """
    return {_KEY: {"help": help, "flags": flags, "type": type, "argument": argument}}


def options_from(
    config_cls: type,
    exclude: Iterable[str] = (),
    help: Mapping[str, str] | None = None,
) -> list[inspect.Parameter]:
    """One keyword parameter per described field of ``config_cls`` (``exclude`` left out), its
    default a ``typer.Option`` (or ``typer.Argument``) with the field's default and help;
    ``help`` replaces the help text of some fields."""
    hints = typing.get_type_hints(config_cls)
    skip, help = set(exclude), dict(help or {})
    params = []
    for f in dataclasses.fields(config_cls):
        meta = f.metadata.get(_KEY)
        if meta is None or f.name in skip:
            continue
        default = f.default if f.default is not dataclasses.MISSING else ...
        text = help.get(f.name, meta["help"])
        if meta["argument"]:
            value = typer.Argument(default, help=text)
        else:
            flags = meta["flags"] or ("--" + f.name.replace("_", "-"),)
            value = typer.Option(default, *flags, help=text)
        annotation = meta["type"] or hints[f.name]
        params.append(
            inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=value, annotation=annotation)
        )
    return params


def with_options(func: Callable[..., Any], options: Iterable[inspect.Parameter]) -> Callable[..., Any]:
    """``func`` (which takes ``**options``) with its own named parameters followed by ``options``:
    the signature typer reads to build the command."""
    hints = typing.get_type_hints(func)
    own = [
        p.replace(annotation=hints.get(p.name, p.annotation))
        for p in inspect.signature(func).parameters.values()
        if p.kind is not p.VAR_KEYWORD
    ]
    func.__signature__ = inspect.Signature([*own, *options])  # type: ignore[attr-defined]
    func.__annotations__ = {p.name: p.annotation for p in func.__signature__.parameters.values()}  # type: ignore[attr-defined]
    return func


ENGINE = typer.Option(
    "local",
    "--engine",
    help="local: processes or threads on this machine; dask: the films are spread over a Dask cluster "
    "(pip extra: cxr-regions\\[cluster]).",
)
"""``--engine``, the same for every command whose work is per film (ingest, build, pretrain-prepare)."""

SCHEDULER = typer.Option(
    None, "--scheduler", help="Dask scheduler address (tcp://host:8786); default: a local cluster."
)
"""``--scheduler``, the Dask cluster that ``--engine dask`` uses."""
