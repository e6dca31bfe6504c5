"""The site's command reference, generated from the command line itself so it cannot drift.

An MkDocs hook (``hooks:`` in mkdocs.yml): when the site is built, ``on_files`` runs this file as a
script in a fresh Python, which prints ``cxr-regions COMMAND --help`` of every command and subcommand
as Markdown, and adds the result to the site as ``cli.md``. Run it by hand to see the page:

    .venv/bin/python docs/hooks/cli_reference.py > cli.md

The help is Click's plain layout (``TYPER_USE_RICH=0``, 100 columns): the same text as the terminal's,
without the boxes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

PAGE = "cli.md"
WIDTH = 100


def _commands(command: Any, ctx: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """(path, command, context) of ``command`` and, depth first in the CLI's own order, its subcommands."""
    yield path, command, ctx
    if hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or getattr(sub, "hidden", False):
                continue
            sub_ctx = sub.make_context(name, [], parent=ctx, resilient_parsing=True)
            yield from _commands(sub, sub_ctx, (*path, name))


def _anchor(path: tuple[str, ...]) -> str:
    """The heading id MkDocs gives ``## cxr-regions A B``."""
    return "-".join(("cxr-regions", *path))


def render() -> str:
    """The reference page as Markdown (call with ``TYPER_USE_RICH=0`` in the environment)."""
    import typer

    from cxr_regions.cli import app

    root = typer.main.get_command(app)
    ctx = root.make_context(
        "cxr-regions", [], resilient_parsing=True, terminal_width=WIDTH, max_content_width=WIDTH
    )
    entries = list(_commands(root, ctx, ()))
    lines = [
        "# Command reference",
        "",
        "Every command's `--help`, generated from the command line when this site is built, so it",
        "always matches the version installed. In a terminal, `cxr-regions COMMAND --help` shows the",
        "same text.",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    for path, command, _ in entries[1:]:
        summary = " ".join((command.help or "").split("\n\n")[0].split()).replace("|", "\\|")
        lines.append(f"| [`{' '.join(path)}`](#{_anchor(path)}) | {summary} |")
    for path, command, command_ctx in entries:
        level = "#" * min(2 + max(len(path) - 1, 0), 4)
        help_text = command.get_help(command_ctx).replace("\\[", "[")
        lines += ["", f"{level} {' '.join(('cxr-regions', *path))}", "", "```text", help_text, "```"]
    return "\n".join(lines) + "\n"


def generate() -> str:
    """Run this file in a fresh Python and return the page (the CLI's help layout is fixed at import)."""
    env = {**os.environ, "TYPER_USE_RICH": "0", "COLUMNS": str(WIDTH), "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, __file__], env=env, capture_output=True, text=True, encoding="utf-8", check=False
    )
    if result.returncode != 0:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"could not render the command reference:\n{result.stderr}")
    return result.stdout


def on_files(files: Any, config: Any) -> Any:
    """MkDocs event: add the generated ``cli.md`` to the site's files."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, PAGE, content=generate()))
    return files


if __name__ == "__main__":
    sys.stdout.reconfigure(encoding="utf-8")
    sys.stdout.write(render())
