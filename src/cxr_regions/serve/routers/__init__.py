"""The reading room's routes, one router per resource (``create_app`` includes ``ROUTERS`` in order).

- ``site_routes``: ``/`` (to the worklist), ``/healthz``, ``/favicon.ico``, ``/regions.css``, the model
  page ``/model`` and ``/api/model`` (the run and its starting weights' provenance);
- ``auth_routes``: the login page, ``POST /login``, ``POST /logout``;
- ``worklist_routes``: the worklist page and ``/api/worklist``;
- ``film_routes``: the viewer page, ``/api/films/{id}``, the film and its heatmaps as PNG;
- ``upload_routes``: ``POST /upload``;
- ``verdict_routes``: ``POST /films/{id}/verdict``, ``/export/verdicts.csv``, the agreement page;
- ``pacs_routes``: ``/api/pacs``, the PACS link's state;
- ``users_routes``: ``/account`` (one's own password), ``/admin/users`` and ``/admin/audit.csv`` (admins).

Routes get what they need from the typed dependencies in ``serve/deps.py``; every state-changing
route has ``dependencies=CSRF_CHECKED``. (Modules are named ``*_routes`` because the package's module
names are unique: ``serve/auth.py`` and ``serve/verdicts.py`` hold the services behind them.)
"""

from __future__ import annotations

from fastapi import APIRouter

from cxr_regions.serve.routers import (
    auth_routes,
    film_routes,
    pacs_routes,
    site_routes,
    upload_routes,
    users_routes,
    verdict_routes,
    worklist_routes,
)

ROUTERS: tuple[APIRouter, ...] = (
    site_routes.router,
    auth_routes.router,
    worklist_routes.router,
    film_routes.router,
    upload_routes.router,
    verdict_routes.router,
    pacs_routes.router,
    users_routes.router,
)
