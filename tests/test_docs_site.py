"""The documentation site: it builds offline with --strict, its command reference covers every command and
option of the CLI, the README stays a short front page whose links land on site pages, and the pages
speak about the product, not about where it was built."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
README_MAX_LINES = 200
# Each former README section keeps its marker on the page that now holds it.
SECTIONS = {
    "demo": "getting-started.md",
    "label": "label.md",
    "phantom": "phantom.md",
    "ingest": "ingest.md",
    "build": "build.md",
    "train": "train.md",
    "pretrain": "pretrain.md",
    "realfilms": "real-films.md",
    "evaluate": "evaluate.md",
    "explain": "explain.md",
    "serve": "reading-room.md",
    "pacs": "pacs-link.md",
}
# Sentences about the machines or sessions the product was built on, not about the product.
NOT_ABOUT_THE_PRODUCT = re.compile(
    r"build machine|development machine|this project's|other agents|other engineers|earlier session"
    r"|no GPU was available|the shared machine|shared 2-core",
    re.IGNORECASE,
)


def nav_pages(nav: list) -> list[str]:
    """Every page file named in mkdocs.yml's nav, in order."""
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages.extend(nav_pages(value) if isinstance(value, list) else [value])
    return pages


@pytest.fixture(scope="module")
def config() -> dict:
    # mkdocs.yml may hold !!python tags in general; ours does not, so the safe loader reads it.
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site as `make docs` builds it (--strict: a broken link, anchor or nav entry fails)."""
    for module in ("mkdocs", "material"):
        pytest.importorskip(module, reason="the docs extra: pip install -e '.[docs]' (make test installs it)")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return out


def cli_commands() -> list[tuple[tuple[str, ...], list[str]]]:
    """(command path, its option names) for every command and subcommand of `cxr-regions`."""
    import typer

    from cxr_regions.cli import app

    found = []

    def walk(command, ctx, path):
        options = [opt for param in command.params for opt in param.opts if opt.startswith("--")]
        found.append((path, options))
        for name in getattr(command, "list_commands", lambda _: [])(ctx):
            sub = command.get_command(ctx, name)
            walk(sub, sub.make_context(name, [], parent=ctx, resilient_parsing=True), (*path, name))

    root = typer.main.get_command(app)
    walk(root, root.make_context("cxr-regions", [], resilient_parsing=True), ())
    return found


def test_the_site_builds_offline_with_every_nav_page(site, config):
    assert config["theme"]["font"] is False  # the theme would fetch Google Fonts otherwise
    for page in nav_pages(config["nav"]):
        assert (site / page.replace(".md", ".html")).is_file(), page
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert "fonts.googleapis.com" not in text and "fonts.gstatic.com" not in text, html
        assert not re.search(r"<(script|img)[^>]+src=\"https?://", text), html
        assert not re.search(r"<link[^>]+rel=\"stylesheet\"[^>]+href=\"https?://", text), html
    assert not (site / "hooks").exists()  # the build's own code is not published


def test_the_command_reference_holds_every_command_and_option(site):
    page = (site / "cli.html").read_text(encoding="utf-8")
    commands = cli_commands()
    assert len(commands) > 15
    for path, options in commands:
        anchor = "-".join(("cxr-regions", *path))
        assert f'id="{anchor}"' in page, f"no section for cxr-regions {' '.join(path)}"
        section = page.split(f'id="{anchor}"', 1)[1]
        help_block = section.split("</code></pre>", 1)[0]
        for option in options:
            assert option in help_block, f"cxr-regions {' '.join(path)}: {option} missing"


def test_every_command_is_explained_beyond_its_reference():
    """A command only the generated reference names is undocumented: say in a guide page what it is for."""
    text = " ".join(" ".join(p.read_text(encoding="utf-8").split()) for p in DOCS.glob("*.md"))
    for path, _ in cli_commands()[1:]:
        assert " ".join(path) in text, f"no docs page mentions `{' '.join(path)}`"


def test_pending_pages_stand_in_only_until_their_file_exists(site, config):
    sys.path.insert(0, str(DOCS / "hooks"))
    try:
        import placeholders
    finally:
        sys.path.remove(str(DOCS / "hooks"))
    nav = nav_pages(config["nav"])
    for page in placeholders.PENDING:
        assert page in nav, f"{page} is pending but not in the nav"
        html = (site / page.replace(".md", ".html")).read_text(encoding="utf-8")
        assert ("Being written" in html) == (not (DOCS / page).exists()), page


def local_links(path: Path) -> list[tuple[Path, str]]:
    """(target file, anchor or "") of each relative Markdown link in ``path``."""
    links = re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8"))
    found = []
    for link in links:
        if not re.match(r"[a-z]+:", link):
            target, _, anchor = link.partition("#")
            found.append(((path.parent / target).resolve(), anchor))
    return found


@pytest.mark.parametrize("path", [README, ROOT / "benchmarks" / "RESULTS.md"], ids=lambda p: p.name)
def test_links_from_outside_the_site_land_on_its_pages(path, site, config):
    nav = set(nav_pages(config["nav"]))
    links = local_links(path)
    assert len(links) > 10
    for target, anchor in links:
        name = target.relative_to(ROOT)
        assert target.is_file(), f"{path.name} links to {name}, which does not exist"
        if target.parent == DOCS:
            assert target.name in nav, f"{path.name} links to {name}, which is not on the site"
            html = (site / target.name.replace(".md", ".html")).read_text(encoding="utf-8")
            assert not anchor or f'id="{anchor}"' in html, f"{path.name}: no #{anchor} on {name}"


def test_the_readme_is_a_short_front_page():
    readme = README.read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= README_MAX_LINES
    for command in ("make demo", "make test", "cxr-regions serve demo-output/run"):
        assert command in readme
    assert "phantom -> ingest -> label -> build -> train -> evaluate -> explain -> report" in readme


def test_each_former_readme_section_has_one_marked_page():
    readme = README.read_text(encoding="utf-8")
    assert "<!-- section:" not in readme
    for name, page in SECTIONS.items():
        text = (DOCS / page).read_text(encoding="utf-8")
        assert text.count(f"<!-- section: {name} -->") == 1, page
        assert text.count(f"<!-- /section: {name} -->") == 1, page
        elsewhere = [p.name for p in DOCS.glob("*.md") if p.name != page]
        assert not [p for p in elsewhere if f"<!-- section: {name} -->" in (DOCS / p).read_text("utf-8")]


def test_the_docs_speak_about_the_product_only():
    for path in [README, *sorted(DOCS.glob("*.md")), ROOT / "benchmarks" / "RESULTS.md"]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = NOT_ABOUT_THE_PRODUCT.search(line)
            assert not match, (
                f"{path.relative_to(ROOT)}:{number}: {match.group(0)!r}: state the hardware instead"
            )
