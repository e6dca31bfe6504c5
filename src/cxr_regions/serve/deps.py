"""Typed dependencies: how a route asks for a service, the reader or a film.

A route says what it needs in its signature, e.g. ``store: StoreDep, reader: ReaderDep, film: FilmDep``,
and FastAPI hands it over. These functions are the only code that reads ``app.state``.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request

from cxr_regions.serve import auth
from cxr_regions.serve.auth import LoginThrottle
from cxr_regions.serve.configuration import ServeConfig
from cxr_regions.serve.intake import Intake
from cxr_regions.serve.model import Thresholds
from cxr_regions.serve.pacs_link import PacsLink
from cxr_regions.serve.records import FilmRecord
from cxr_regions.serve.rendering import Pages
from cxr_regions.serve.services import Services
from cxr_regions.serve.store import Store
from cxr_regions.serve.users import Users
from cxr_regions.serve.worker import InferenceWorker


def get_services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


def get_config(services: ServicesDep) -> ServeConfig:
    return services.config


def get_store(services: ServicesDep) -> Store:
    return services.store


def get_thresholds(services: ServicesDep) -> Thresholds:
    return services.thresholds


def get_worker(services: ServicesDep) -> InferenceWorker:
    return services.worker


def get_intake(services: ServicesDep) -> Intake:
    return services.intake


def get_pages(services: ServicesDep) -> Pages:
    return services.pages


def get_throttle(services: ServicesDep) -> LoginThrottle:
    return services.throttle


def get_users(services: ServicesDep) -> Users | None:
    return services.users


def get_pacs_link(services: ServicesDep) -> PacsLink:
    """The PACS link; 404 where the room runs without one."""
    if services.pacs_link is None:
        raise HTTPException(404, "no PACS link: start serve with --pacs URL")
    return services.pacs_link


ConfigDep = Annotated[ServeConfig, Depends(get_config)]
StoreDep = Annotated[Store, Depends(get_store)]
ThresholdsDep = Annotated[Thresholds, Depends(get_thresholds)]
WorkerDep = Annotated[InferenceWorker, Depends(get_worker)]
IntakeDep = Annotated[Intake, Depends(get_intake)]
PagesDep = Annotated[Pages, Depends(get_pages)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]
UsersDep = Annotated[Users | None, Depends(get_users)]
PacsLinkDep = Annotated[PacsLink, Depends(get_pacs_link)]


def get_reader(request: Request, config: ConfigDep) -> str:
    """Who is reading (``auth.reader_of``): the logged-in user, or ``local`` without logins."""
    return auth.reader_of(request, config.logins)


ReaderDep = Annotated[str, Depends(get_reader)]


def get_film(film_id: int, store: StoreDep) -> FilmRecord:
    """The film of the path's ``film_id``; 404 if there is none."""
    try:
        return store.film(film_id)
    except KeyError:
        raise HTTPException(404, f"no film {film_id}") from None


FilmDep = Annotated[FilmRecord, Depends(get_film)]


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON rather than a page (the pages' scripts do)."""
    return "application/json" in request.headers.get("accept", "")


WantsJsonDep = Annotated[bool, Depends(wants_json)]

CSRF_CHECKED = [Depends(auth.csrf_protect)]
"""``dependencies=`` of every state-changing route: refused (403) without the session's CSRF token."""
