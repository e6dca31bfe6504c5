"""The page templates in one place: one Jinja2 environment over ``serve/templates`` with the region names
and the CSRF token at hand, and what every page shows besides its own content (the reader, where the
thresholds came from, the model, the PACS link's state). Routes render through :meth:`Pages.render`.

Everything the pages need (templates, CSS, JavaScript) ships inside the package; nothing is fetched at
run time.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cxr_regions.regions import REGIONS
from cxr_regions.serve import auth
from cxr_regions.serve.configuration import ServeConfig

if TYPE_CHECKING:
    from cxr_regions.serve.model import FilmModel, Thresholds
    from cxr_regions.serve.pacs_link import PacsLink


def package_folder(name: str) -> Path:
    """A folder shipped inside ``cxr_regions.serve`` (``templates``, ``static``)."""
    return Path(str(resources.files("cxr_regions.serve") / name))


class Pages:
    """Renders the reading room's templates with what every page shows."""

    def __init__(
        self, config: ServeConfig, thresholds: Thresholds, model: FilmModel, pacs_link: PacsLink | None
    ) -> None:
        self.config = config
        self.thresholds = thresholds
        self.model = model
        self.pacs_link = pacs_link
        self.templates = Jinja2Templates(directory=str(package_folder("templates")))
        self.templates.env.globals["REGIONS"] = REGIONS
        self.templates.env.globals["csrf_token"] = auth.csrf_token

    def render(
        self, request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        """The template ``name`` with ``context`` over the common part."""
        account = auth.request_session(request).account if self.config.logins else auth.LOCAL_ACCOUNT
        common = {
            "reader": auth.session_user(request) if self.config.logins else "local",
            "account": account,
            "logins": self.config.logins,
            "thresholds_default": self.thresholds.is_default,
            "thresholds_source": self.thresholds.source,
            "calibrated": self.thresholds.calibrated,
            "model": self.model,
            "pacs": self.pacs_link.status() if self.pacs_link is not None else None,
        }
        return self.templates.TemplateResponse(request, name, {**common, **context}, status_code=status_code)

    def error(self, request: Request, status: int, detail: Any) -> HTMLResponse:
        """The error page for a refused or failed request from a browser (no common part: it must
        render whatever went wrong)."""
        return self.templates.TemplateResponse(
            request, "error.html", {"status": status, "detail": detail}, status_code=status
        )
