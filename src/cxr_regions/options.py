"""Command-line options generated from a typed configuration: the one way a command is declared.

A command's settings are a dataclass whose fields carry :func:`cli` metadata (help text, option
names, how the command line spells the value). :func:`command` registers a function taking that
config: its options are generated from the fields (with the fields' types and defaults), and what
the user typed becomes the config through :func:`config_from` — values converted, nested settings
assembled, and the config's own checks run (``__post_init__`` and, where defined, ``validate()``).
So an option cannot exist without a field, a default lives in one place, and validation in one.

- a field that is itself a dataclass of settings (``nested()``) contributes its described fields;
- ``parse`` turns what the command line gives (``"30s"``, ``"PA,AP"``) into the field's value, and
  ``show`` is the default as the user would type it;
- a field without metadata is not an option (it keeps its default).

This module imports nothing heavy: ``cxr-regions --help`` builds every command from it.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import typer

_KEY = "cli"
_NESTED = "cli_nested"
_SEP = "__"
C = TypeVar("C")


def cli(
    help: str,
    *flags: str,
    type: Any = None,
    argument: bool = False,
    parse: Callable[[Any], Any] | None = None,
    show: str | None = None,
    metavar: str | None = None,
    default_text: str | None = None,
) -> dict[str, Any]:
    """Field metadata for a config dataclass: ``field(default=..., metadata=cli("Help.", "-o", "--out"))``.

    ``flags``: the option's names (default ``--field-name``; ``"--x/--no-x"`` for an on/off switch).
    ``type``: the type the command line parses where the field's own is not one typer knows
    (``str | int``, a tuple, a date). ``argument``: a positional argument instead of an option.
    ``parse``: turns the command line's value into the field's (e.g. :func:`duration`); it must
    accept ``show``, which is then the default the command line shows and starts from.
    ``default_text``: what ``--help`` says of a default that depends on the machine.
    """
    return {
        _KEY: {
            "help": help,
            "flags": flags,
            "type": type,
            "argument": argument,
            "parse": parse,
            "show": show,
            "metavar": metavar,
            "default_text": default_text,
        }
    }


def nested(exclude: Iterable[str] = (), help: Mapping[str, str] | None = None, **fill: Any) -> dict[str, Any]:
    """Field metadata for a field that is a settings dataclass of its own: its described fields
    (less ``exclude``) become options of the command; ``help`` replaces some help texts; ``fill``
    gives excluded fields without a default a value (which the outer config then sets)."""
    return {_NESTED: {"exclude": tuple(exclude), "help": dict(help or {}), "fill": fill}}


# -- how the command line spells values ------------------------------------------------------------


def duration(value: str | float) -> float:
    """``30s``, ``2m``, ``1h`` or plain seconds (``30``) -> seconds (positive)."""
    from cxr_regions.errors import UserError

    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        units = {"s": 1.0, "m": 60.0, "h": 3600.0}
        text = value.strip().lower()
        scale = units.get(text[-1:])
        try:
            seconds = float(text[:-1] if scale else text) * (scale or 1.0)
        except ValueError:
            raise UserError(f"{value!r} is not a duration such as 30s, 2m or 30") from None
    if seconds <= 0:
        raise UserError(f"a duration must be positive, got {value!r}")
    return seconds


def comma_list(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"PA, AP"`` (or several such values) -> ``("PA", "AP")``; empty -> ``()``."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    return tuple(part.strip() for item in items for part in str(item).split(",") if part.strip())


def optional_list(value: Iterable[Any] | None) -> list[Any] | None:
    """A repeated option's values as a list, ``None`` where it was not given."""
    values = list(value or [])
    return values or None


def day(value: Any) -> Any:
    """``YYYY-MM-DD`` -> a date (``None`` stays ``None``)."""
    import datetime as _dt

    from cxr_regions.errors import UserError

    if value is None or isinstance(value, _dt.date):
        return value
    try:
        return _dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise UserError(f"{value!r} is not a day (YYYY-MM-DD)") from None


# -- options from configs ---------------------------------------------------------------------------


def _described(
    config_cls: type,
) -> list[tuple[dataclasses.Field, dict[str, Any] | None, dict[str, Any] | None]]:
    return [(f, f.metadata.get(_KEY), f.metadata.get(_NESTED)) for f in dataclasses.fields(config_cls)]


def _nested_type(config_cls: type, f: dataclasses.Field) -> type:
    kind = typing.get_type_hints(config_cls)[f.name]
    if not dataclasses.is_dataclass(kind):
        raise TypeError(f"{config_cls.__name__}.{f.name}: nested() needs a dataclass type, not {kind}")
    return kind  # type: ignore[return-value]


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return ...


def options_from(
    config_cls: type,
    exclude: Iterable[str] = (),
    help: Mapping[str, str] | None = None,
    prefix: str = "",
) -> list[inspect.Parameter]:
    """One keyword parameter per described field of ``config_cls`` (``exclude`` left out, nested
    settings spread out), its default a ``typer.Option`` (or ``typer.Argument``) with the field's
    default and help; ``help`` replaces the help text of some fields."""
    hints = typing.get_type_hints(config_cls)
    skip, help = set(exclude), dict(help or {})
    params = []
    for f, meta, inner in _described(config_cls):
        if f.name in skip:
            continue
        if inner is not None:
            params += options_from(
                _nested_type(config_cls, f), inner["exclude"], inner["help"], prefix=f"{prefix}{f.name}{_SEP}"
            )
            continue
        if meta is None:
            continue
        default = meta["show"] if meta["show"] is not None else _default(f)
        text = help.get(f.name, meta["help"])
        extra: dict[str, Any] = {"metavar": meta["metavar"]} if meta["metavar"] else {}
        if meta["default_text"]:
            extra["show_default"] = meta["default_text"]
        if meta["argument"]:
            extra.setdefault("metavar", f.name.upper())  # not the nested parameter's name
            value = typer.Argument(default, help=text, **extra)
        else:
            flags = meta["flags"] or ("--" + f.name.replace("_", "-"),)
            value = typer.Option(default, *flags, help=text, **extra)
        annotation = meta["type"] or hints[f.name]
        params.append(
            inspect.Parameter(
                prefix + f.name, inspect.Parameter.KEYWORD_ONLY, default=value, annotation=annotation
            )
        )
    return params


def config_from(
    config_cls: type[C], values: Mapping[str, Any], prefix: str = "", fill: Mapping[str, Any] | None = None
) -> C:
    """The config the command line's ``values`` (parameter name -> value) describe: each value
    through its field's ``parse``, nested settings built from theirs, then the config built (its
    ``__post_init__`` checks) and, where it has one, its ``validate()`` run."""
    kwargs: dict[str, Any] = {}
    for f, meta, inner in _described(config_cls):
        if inner is not None:
            sub = f"{prefix}{f.name}{_SEP}"
            if inner["fill"] or any(key.startswith(sub) for key in values):
                kwargs[f.name] = config_from(_nested_type(config_cls, f), values, sub, inner["fill"])
            continue
        key = prefix + f.name
        if meta is None or key not in values:
            continue
        value = values[key]
        kwargs[f.name] = meta["parse"](value) if meta["parse"] is not None else value
    config = config_cls(**kwargs, **(fill or {}))
    validate = getattr(config, "validate", None)
    if callable(validate):
        validate()
    return config


def command(
    app: typer.Typer,
    name: str,
    config_cls: type[C],
    run: Callable[[C], Any],
    exclude: Iterable[str] = (),
    help: Mapping[str, str] | None = None,
) -> Callable[..., Any]:
    """Register ``run(config)`` as command ``name`` of ``app``, its options generated from
    ``config_cls`` (``run``'s docstring is the command's help). Returns the typer callback, which
    carries ``config_cls`` as ``__config__``."""
    params = options_from(config_cls, exclude, help)

    def callback(**values: Any) -> Any:
        return run(config_from(config_cls, values))

    callback.__name__ = getattr(run, "__name__", name)
    callback.__doc__ = run.__doc__
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__annotations__ = {p.name: p.annotation for p in params}
    callback.__config__ = config_cls  # type: ignore[attr-defined]
    app.command(name)(callback)
    return callback


ENGINE_HELP = (
    "local: processes or threads on this machine; dask: the films are spread over a Dask cluster "
    "(pip extra: cxr-regions\\[cluster])."
)
"""``--engine``, the same for every command whose work is per film (ingest, build, pretrain-prepare)."""
SCHEDULER_HELP = "Dask scheduler address (tcp://host:8786); default: a local cluster."
"""``--scheduler``, the Dask cluster that ``--engine dask`` uses."""
PROGRESS_HELP = "Show a progress bar."
