"""The reading room's admin commands: ``serve-user`` (the users file), ``verdicts export`` and
``audit export``.

``serve-user`` edits the users file under its lock, as the users page of a running room does; a running
room takes each change at once and records it in its audit trail (as done by ``users file``). Each
command's options are generated from its settings dataclass below (``cxr_regions.options``).
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from pathlib import Path

import typer

from cxr_regions.contracts.names import VERDICTS_CSV
from cxr_regions.extras import require_extra
from cxr_regions.options import cli, command

USERS_HELP = "The users file (`serve --users`)."
DATA_HELP = "The reading room's data folder (`serve --data`)."
STDIN_HELP = "Read the password from the first line of standard input."


@dataclass
class UserAddConfig:
    """What one ``cxr-regions serve-user add`` call is given."""

    name: str = field(
        metadata=cli("User name (letters, digits, _ . @ -); goes with each verdict.", argument=True)
    )
    users: Path = field(default=Path("users.yaml"), metadata=cli("The users file (made if absent)."))
    full_name: str = field(
        default="",
        metadata=cli("Full name, the observer of their verdicts in the PACS (e.g. 'Li Wei')."),
    )
    role: str = field(default="reader", metadata=cli("reader, or admin (also users and the audit)."))
    password_stdin: bool = field(default=False, metadata=cli(STDIN_HELP))
    force: bool = field(default=False, metadata=cli("Replace the entry of an existing user."))


@dataclass
class UserNameConfig:
    """``serve-user remove NAME`` (and the other commands that name one user and the file)."""

    name: str = field(metadata=cli("The user.", argument=True))
    users: Path = field(default=Path("users.yaml"), metadata=cli(USERS_HELP))


@dataclass
class UsersListConfig:
    """``serve-user list``."""

    users: Path = field(default=Path("users.yaml"), metadata=cli(USERS_HELP))


@dataclass
class PasswdConfig:
    """``serve-user passwd NAME``."""

    name: str = field(metadata=cli("The user.", argument=True))
    users: Path = field(default=Path("users.yaml"), metadata=cli(USERS_HELP))
    password_stdin: bool = field(default=False, metadata=cli(STDIN_HELP))


@dataclass
class RoleConfig:
    """``serve-user role NAME ROLE``."""

    name: str = field(metadata=cli("The user.", argument=True))
    role: str = field(metadata=cli("reader or admin.", argument=True, metavar="ROLE"))
    users: Path = field(default=Path("users.yaml"), metadata=cli(USERS_HELP))


@dataclass
class FullNameConfig:
    """``serve-user full-name NAME FULL_NAME``."""

    name: str = field(metadata=cli("The user.", argument=True))
    text: str = field(metadata=cli("Their full name ('' clears it).", argument=True, metavar="FULL_NAME"))
    users: Path = field(default=Path("users.yaml"), metadata=cli(USERS_HELP))


@dataclass
class VerdictsExportConfig:
    """What one ``cxr-regions verdicts export`` call is given."""

    data: Path = field(metadata=cli(DATA_HELP, "--data"))
    output: Path = field(
        default=Path(VERDICTS_CSV), metadata=cli("Where to write the CSV.", "-o", "--output")
    )


@dataclass
class AuditExportConfig:
    """What one ``cxr-regions audit export`` call is given."""

    data: Path = field(metadata=cli(DATA_HELP, "--data"))
    output: Path = field(default=Path("audit.csv"), metadata=cli("Where to write the CSV.", "-o", "--output"))


def register(app: typer.Typer) -> None:
    """Add ``serve-user``, ``verdicts`` and ``audit`` (each a group of sub-commands) to ``cxr-regions``."""
    serve_user = typer.Typer(help="Users of the reading room (`serve --users FILE`).", no_args_is_help=True)
    verdicts = typer.Typer(help="The radiologists' verdicts saved in the reading room.", no_args_is_help=True)
    audit = typer.Typer(help="The reading room's audit trail.", no_args_is_help=True)
    app.add_typer(serve_user, name="serve-user")
    app.add_typer(verdicts, name="verdicts")
    app.add_typer(audit, name="audit")

    command(serve_user, "add", UserAddConfig, add)
    command(serve_user, "remove", UserNameConfig, remove)
    command(serve_user, "list", UsersListConfig, list_users)
    command(serve_user, "passwd", PasswdConfig, passwd)
    command(serve_user, "role", RoleConfig, role)
    command(serve_user, "full-name", FullNameConfig, full_name)
    command(verdicts, "export", VerdictsExportConfig, export)
    command(audit, "export", AuditExportConfig, audit_export)


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return typer.get_text_stream("stdin").readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


def _open_store(data: Path):  # -> Store
    from cxr_regions.errors import UserError
    from cxr_regions.serve.store import DB_NAME, Store

    if not data.is_dir():
        raise UserError(f"data folder not found: {data}; give the --data folder the reading room runs with")
    if not (data / DB_NAME).is_file():
        raise UserError(
            f"{data} holds no reading-room database ({DB_NAME}); is it the folder `serve --data` used?"
        )
    return Store(data)


def _cli_actor():  # -> Actor
    from cxr_regions.serve.audit import Actor

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return Actor(f"{user} (command line)"[:128], "cli")


def add(config: UserAddConfig) -> None:
    """Add a user (or, with --force, write their entry anew); asks for the password twice, hidden."""
    require_extra("serve", "cxr-regions serve-user add")
    from cxr_regions.errors import UserError
    from cxr_regions.serve.users import Users, add_user, check_full_name, check_name, check_role

    name, users = config.name, config.users
    check_name(name)
    check_role(config.role)
    check_full_name(config.full_name)
    if users.exists() and name in Users.load(users) and not config.force:
        raise UserError(f"user {name!r} already exists in {users}; use --force to replace their entry")
    add_user(
        users, name, _password(config.password_stdin), replace=config.force, role=config.role,
        full_name=config.full_name,
    )  # fmt: skip
    typer.echo(
        f"{'updated' if config.force else 'added'} user {name} ({config.role}) in {users} "
        "(argon2id hash, mode 0600)"
    )


def remove(config: UserNameConfig) -> None:
    """Remove a user (never the last admin); a running room ends their sessions at once."""
    require_extra("serve", "cxr-regions serve-user remove")
    from cxr_regions.serve.users import removing, update_users

    update_users(config.users, removing(config.name))
    typer.echo(f"removed user {config.name} from {config.users}")


def list_users(config: UsersListConfig) -> None:
    """List the users (name, role, full name); a bad line of the file is named."""
    require_extra("serve", "cxr-regions serve-user list")
    from cxr_regions.serve.users import Users

    table = Users.load(config.users)
    for name in table.names:
        account = table.accounts[name]
        typer.echo(f"{name}\t{account.role.value}\t{account.full_name}")
    typer.echo(f"{len(table)} user(s), {len(table.admins)} admin(s) in {config.users}")


def passwd(config: PasswdConfig) -> None:
    """Set a user's password; a running room ends their sessions at once."""
    require_extra("serve", "cxr-regions serve-user passwd")
    from cxr_regions.errors import UserError
    from cxr_regions.serve.users import Users, setting_password, update_users

    known = Users.load(config.users)
    if config.name not in known:  # said before the password is typed
        raise UserError(
            f"no user {config.name!r} in {config.users}; the users are {', '.join(known.names) or 'none yet'}"
        )
    update_users(config.users, setting_password(config.name, _password(config.password_stdin)))
    typer.echo(f"new password for {config.name} in {config.users}")


def role(config: RoleConfig) -> None:
    """Make a user reader or admin (never the last admin a reader)."""
    require_extra("serve", "cxr-regions serve-user role")
    from cxr_regions.serve.users import setting_role, update_users

    old = update_users(config.users, setting_role(config.name, config.role))
    typer.echo(f"{config.name}: {old.value} -> {config.role}")


def full_name(config: FullNameConfig) -> None:
    """Set the full name the verdict reports sent to the PACS show as the observer."""
    require_extra("serve", "cxr-regions serve-user full-name")
    from cxr_regions.serve.users import setting_full_name, update_users

    update_users(config.users, setting_full_name(config.name, config.text))
    typer.echo(f"full name of {config.name}: {config.text or '(none)'}")


def export(config: VerdictsExportConfig) -> None:
    """Write every verdict as labels.csv (report_id = accession number, the five regions, reader, time).

    The file works as `label-eval --gold` and as `build --labels` (use `--join image_id` for films
    without an accession number). With no verdicts saved yet it is an error and no file is written.
    """
    require_extra("serve", "cxr-regions verdicts export")
    from cxr_regions.errors import UserError
    from cxr_regions.serve.audit import Action, AuditTrail
    from cxr_regions.serve.database import make_engine
    from cxr_regions.serve.verdicts import export_verdicts

    with _open_store(config.data) as store:
        if not store.verdicts():
            raise UserError(f"no verdicts saved yet in {store.path}; nothing written to {config.output}")
        rows = export_verdicts(store, config.output)
        engine = make_engine(store.path)
        try:
            AuditTrail(engine).record(Action.EXPORT, _cli_actor(), detail={"what": "verdicts", "rows": rows})
        finally:
            engine.dispose()
    typer.echo(f"wrote {rows} verdict(s) to {config.output}")


def audit_export(config: AuditExportConfig) -> None:
    """Write the whole audit trail as CSV (id, at, actor, action, client, film_id, subject, detail):
    logins and failed logins, films opened, verdicts saved or changed (old and new values), exports
    (this one included) and changes of users."""
    require_extra("serve", "cxr-regions audit export")
    from cxr_regions.serve.audit import Action, AuditTrail
    from cxr_regions.serve.database import make_engine

    with _open_store(config.data) as store:
        engine = make_engine(store.path)
        try:
            trail = AuditTrail(engine)
            trail.record(Action.EXPORT, _cli_actor(), detail={"what": "audit"})
            rows = trail.export_csv(config.output)
        finally:
            engine.dispose()
    typer.echo(f"wrote {rows} audit event(s) to {config.output}")
