"""The reading room's admin commands: ``serve-user`` (the users file), ``verdicts export`` and
``audit export``.

``serve-user`` edits the users file under its lock, as the users page of a running room does; a running
room takes each change at once and records it in its audit trail (as done by ``users file``).
"""

from __future__ import annotations

import getpass
from pathlib import Path

import typer

USERS_OPTION = typer.Option(Path("users.yaml"), "--users", help="The users file (`serve --users`).")
DATA_OPTION = typer.Option(..., "--data", help="The reading room's data folder (`serve --data`).")


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


def register(app: typer.Typer) -> None:
    """Add ``serve-user``, ``verdicts`` and ``audit`` (each a group of sub-commands) to ``cxr-regions``."""
    serve_user = typer.Typer(help="Users of the reading room (`serve --users FILE`).", no_args_is_help=True)
    verdicts = typer.Typer(help="The radiologists' verdicts saved in the reading room.", no_args_is_help=True)
    audit = typer.Typer(help="The reading room's audit trail.", no_args_is_help=True)
    app.add_typer(serve_user, name="serve-user")
    app.add_typer(verdicts, name="verdicts")
    app.add_typer(audit, name="audit")

    @serve_user.command("add")
    def add(
        name: str = typer.Argument(..., help="User name (letters, digits, _ . @ -); goes with each verdict."),
        users: Path = typer.Option(Path("users.yaml"), "--users", help="The users file (made if absent)."),
        full_name: str = typer.Option(
            "", "--full-name", help="Full name, the observer of their verdicts in the PACS (e.g. 'Li Wei')."
        ),
        role: str = typer.Option("reader", "--role", help="reader, or admin (also users and the audit)."),
        password_stdin: bool = typer.Option(
            False, "--password-stdin", help="Read the password from the first line of standard input."
        ),
        force: bool = typer.Option(False, "--force", help="Replace the entry of an existing user."),
    ) -> None:
        """Add a user (or, with --force, write their entry anew); asks for the password twice, hidden."""
        from cxr_regions.errors import UserError
        from cxr_regions.serve.users import Users, add_user, check_full_name, check_name, check_role

        check_name(name)
        check_role(role)
        check_full_name(full_name)
        if users.exists() and name in Users.load(users) and not force:
            raise UserError(f"user {name!r} already exists in {users}; use --force to replace their entry")
        add_user(users, name, _password(password_stdin), replace=force, role=role, full_name=full_name)
        typer.echo(
            f"{'updated' if force else 'added'} user {name} ({role}) in {users} (argon2id hash, mode 0600)"
        )

    @serve_user.command("remove")
    def remove(
        name: str = typer.Argument(..., help="The user to remove."), users: Path = USERS_OPTION
    ) -> None:
        """Remove a user (never the last admin); a running room ends their sessions at once."""
        from cxr_regions.serve.users import removing, update_users

        update_users(users, removing(name))
        typer.echo(f"removed user {name} from {users}")

    @serve_user.command("list")
    def list_users(users: Path = USERS_OPTION) -> None:
        """List the users (name, role, full name); a bad line of the file is named."""
        from cxr_regions.serve.users import Users

        table = Users.load(users)
        for name in table.names:
            account = table.accounts[name]
            typer.echo(f"{name}\t{account.role.value}\t{account.full_name}")
        typer.echo(f"{len(table)} user(s), {len(table.admins)} admin(s) in {users}")

    @serve_user.command("passwd")
    def passwd(
        name: str = typer.Argument(..., help="The user."),
        users: Path = USERS_OPTION,
        password_stdin: bool = typer.Option(
            False, "--password-stdin", help="Read the password from the first line of standard input."
        ),
    ) -> None:
        """Set a user's password; a running room ends their sessions at once."""
        from cxr_regions.errors import UserError
        from cxr_regions.serve.users import Users, setting_password, update_users

        known = Users.load(users)
        if name not in known:  # said before the password is typed
            raise UserError(
                f"no user {name!r} in {users}; the users are {', '.join(known.names) or 'none yet'}"
            )
        update_users(users, setting_password(name, _password(password_stdin)))
        typer.echo(f"new password for {name} in {users}")

    @serve_user.command("role")
    def role(
        name: str = typer.Argument(..., help="The user."),
        new_role: str = typer.Argument(..., metavar="ROLE", help="reader or admin."),
        users: Path = USERS_OPTION,
    ) -> None:
        """Make a user reader or admin (never the last admin a reader)."""
        from cxr_regions.serve.users import setting_role, update_users

        old = update_users(users, setting_role(name, new_role))
        typer.echo(f"{name}: {old.value} -> {new_role}")

    @serve_user.command("full-name")
    def full_name(
        name: str = typer.Argument(..., help="The user."),
        text: str = typer.Argument(..., metavar="FULL_NAME", help="Their full name ('' clears it)."),
        users: Path = USERS_OPTION,
    ) -> None:
        """Set the full name the verdict reports sent to the PACS show as the observer."""
        from cxr_regions.serve.users import setting_full_name, update_users

        update_users(users, setting_full_name(name, text))
        typer.echo(f"full name of {name}: {text or '(none)'}")

    @verdicts.command("export")
    def export(
        data: Path = DATA_OPTION,
        output: Path = typer.Option(Path("verdicts.csv"), "-o", "--output", help="Where to write the CSV."),
    ) -> None:
        """Write every verdict as labels.csv (report_id = accession number, the five regions, reader, time).

        The file works as `label-eval --gold` and as `build --labels` (use `--join image_id` for films
        without an accession number). With no verdicts saved yet it is an error and no file is written.
        """
        from cxr_regions.errors import UserError
        from cxr_regions.serve.audit import Action, AuditTrail
        from cxr_regions.serve.database import make_engine
        from cxr_regions.serve.verdicts import export_verdicts

        with _open_store(data) as store:
            if not store.verdicts():
                raise UserError(f"no verdicts saved yet in {store.path}; nothing written to {output}")
            rows = export_verdicts(store, output)
            engine = make_engine(store.path)
            try:
                detail = {"what": "verdicts", "rows": rows}
                AuditTrail(engine).record(Action.EXPORT, _cli_actor(), detail=detail)
            finally:
                engine.dispose()
        typer.echo(f"wrote {rows} verdict(s) to {output}")

    @audit.command("export")
    def audit_export(
        data: Path = DATA_OPTION,
        output: Path = typer.Option(Path("audit.csv"), "-o", "--output", help="Where to write the CSV."),
    ) -> None:
        """Write the whole audit trail as CSV (id, at, actor, action, client, film_id, subject, detail):
        logins and failed logins, films opened, verdicts saved or changed (old and new values), exports
        (this one included) and changes of users."""
        from cxr_regions.serve.audit import Action, AuditTrail
        from cxr_regions.serve.database import make_engine

        with _open_store(data) as store:
            engine = make_engine(store.path)
            try:
                trail = AuditTrail(engine)
                trail.record(Action.EXPORT, _cli_actor(), detail={"what": "audit"})
                rows = trail.export_csv(output)
            finally:
                engine.dispose()
        typer.echo(f"wrote {rows} audit event(s) to {output}")
