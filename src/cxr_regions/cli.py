"""The ``cxr-regions`` command line: the stages' commands in pipeline order, then the workflows'.

Each stage package has a ``commands`` module with ``register(app)``; heavy libraries (torch,
pydicom...) are imported inside the command functions so that ``--help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console
from rich.markup import escape

from cxr_regions import __version__
from cxr_regions.errors import UserError
from cxr_regions.redaction import install_log_redaction

STAGES = (
    "phantom",
    "ingest",
    "label",
    "build",
    "training",
    "pretrain",
    "evaluation",
    "explain",
    "report",
    "workflows",
    "pacs",
    "serve",
)

app = typer.Typer(
    name="cxr-regions",
    help=(
        "Chest radiographs + Chinese radiology reports -> a trained, evaluated and explainable "
        "classifier of five regions (thorax 胸廓, lungs 两肺, aorta 主动脉, heart 心影, "
        "diaphragm 膈面膈角), after Huang, Fang & Gu (J. System Simulation 2020).\n\n"
        "Pipeline: phantom -> ingest -> label -> build -> train -> evaluate -> explain -> report; "
        "`demo` runs it all on embedded phantom data; `serve` is the reading room for new films."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cxr-regions {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Chest radiographs + Chinese reports -> five-region classifier."""


for _stage in STAGES:
    importlib.import_module(f"cxr_regions.{_stage}.commands").register(app)


def main() -> None:
    """Entry point: run the app, turning :class:`UserError` into a clear message and exit 2.

    Every log record of every command passes the redaction filter (:mod:`cxr_regions.redaction`).
    """
    install_log_redaction()
    try:
        app(standalone_mode=False)
    except UserError as exc:
        # the message as written: "[serve]" in it is text, not a style
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("[yellow]aborted[/]")
        sys.exit(1)
    except Exception as exc:  # usage errors (click's, or the copy typer carries) know their exit code
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            show()
            sys.exit(code)
        raise


if __name__ == "__main__":
    main()
