"""Typed dependencies: how a route asks for a service, the reader or a film.

A route says what it needs in its signature, e.g. ``store: StoreDep, reader: ReaderDep, film: FilmDep``,
and FastAPI hands it over. These functions are the only code that reads ``app.state``.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request

from cxr_regions.serve import auth
from cxr_regions.serve.accounts import Accounts
from cxr_regions.serve.audit import Actor, AuditTrail
from cxr_regions.serve.auth import LoginThrottle
from cxr_regions.serve.configuration import ServeConfig
from cxr_regions.serve.intake import Intake
from cxr_regions.serve.model import FilmModel, Thresholds
from cxr_regions.serve.pacs_link import PacsLink
from cxr_regions.serve.records import FilmRecord
from cxr_regions.serve.rendering import Pages
from cxr_regions.serve.services import Services
from cxr_regions.serve.store import Store
from cxr_regions.serve.users import Account
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


def get_model(services: ServicesDep) -> FilmModel:
    return services.model


def get_worker(services: ServicesDep) -> InferenceWorker:
    return services.worker


def get_intake(services: ServicesDep) -> Intake:
    return services.intake


def get_pages(services: ServicesDep) -> Pages:
    return services.pages


def get_throttle(services: ServicesDep) -> LoginThrottle:
    return services.throttle


def get_accounts(services: ServicesDep) -> Accounts:
    """The room's users (from its users file); 404 where the room runs without logins."""
    if services.accounts is None:
        raise HTTPException(404, "this reading room has no users: start serve with --users FILE")
    return services.accounts


def get_audit(services: ServicesDep) -> AuditTrail:
    return services.audit


def get_pacs_link(services: ServicesDep) -> PacsLink:
    """The PACS link; 404 where the room runs without one."""
    if services.pacs_link is None:
        raise HTTPException(404, "no PACS link: start serve with --pacs URL")
    return services.pacs_link


ConfigDep = Annotated[ServeConfig, Depends(get_config)]
StoreDep = Annotated[Store, Depends(get_store)]
ThresholdsDep = Annotated[Thresholds, Depends(get_thresholds)]
ModelDep = Annotated[FilmModel, Depends(get_model)]
WorkerDep = Annotated[InferenceWorker, Depends(get_worker)]
IntakeDep = Annotated[Intake, Depends(get_intake)]
PagesDep = Annotated[Pages, Depends(get_pages)]
ThrottleDep = Annotated[LoginThrottle, Depends(get_throttle)]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]
AuditDep = Annotated[AuditTrail, Depends(get_audit)]
PacsLinkDep = Annotated[PacsLink, Depends(get_pacs_link)]


def get_reader(request: Request, config: ConfigDep) -> str:
    """Who is reading (``auth.reader_of``): the logged-in user, or ``local`` without logins."""
    return auth.reader_of(request, config.logins)


ReaderDep = Annotated[str, Depends(get_reader)]


def get_account(request: Request, config: ConfigDep) -> Account:
    """The account acting (``auth.account_of``): its name, role and full name; 401 without a login."""
    return auth.account_of(request, config.logins)


AccountDep = Annotated[Account, Depends(get_account)]


def get_admin(account: AccountDep) -> Account:
    """The account acting, if it is an admin's (403 for readers)."""
    if not account.is_admin:
        raise HTTPException(403, "only an admin may do this; ask one to make you admin if you need to")
    return account


AdminDep = Annotated[Account, Depends(get_admin)]


def get_actor(request: Request, config: ConfigDep) -> Actor:
    """Who acts, as the audit trail records it: the logged-in user (or ``local``, or nobody yet on the
    login form) and the client's address."""
    user = auth.session_user(request) if config.logins else auth.LOCAL_ACCOUNT.name
    return Actor(user, auth.client_address(request))


ActorDep = Annotated[Actor, Depends(get_actor)]


def get_film(film_id: int, store: StoreDep) -> FilmRecord:
    """The film of the path's ``film_id``; 404 if there is none."""
    try:
        return store.film(film_id)
    except KeyError:
        raise HTTPException(404, f"no film {film_id}") from None


FilmDep = Annotated[FilmRecord, Depends(get_film)]


def get_opened_film(request: Request, film: FilmDep, reader: ReaderDep, audit: AuditDep) -> FilmRecord:
    """The path's film, its opening by this reader recorded in the audit trail (by page, image, API, or
    ``preload``: the viewer fetching the next film's pixels ahead, before the reader opens it)."""
    path = request.url.path
    via = "api" if path.startswith("/api/") else "image" if path.endswith((".png", ".jpg")) else "page"
    if request.headers.get("x-purpose") == "preload":  # the viewer loading the next film ahead
        via = "preload"
    audit.film_opened(Actor(reader, auth.client_address(request)), film.id, via)
    return film


OpenedFilmDep = Annotated[FilmRecord, Depends(get_opened_film)]
"""A film the reader opens (viewer page, its image, its JSON): recorded in the audit trail."""


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON rather than a page (the pages' scripts do)."""
    return "application/json" in request.headers.get("accept", "")


WantsJsonDep = Annotated[bool, Depends(wants_json)]

CSRF_CHECKED = [Depends(auth.csrf_protect)]
"""``dependencies=`` of every state-changing route: refused (403) without the session's CSRF token."""
