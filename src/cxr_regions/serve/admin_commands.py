"""The reading room's admin commands: ``serve-user add`` (the users file) and ``verdicts export``."""

from __future__ import annotations

import typer

from cxr_regions.options import command
from cxr_regions.serve.configuration import UserAddConfig, VerdictsExportConfig


def register(app: typer.Typer) -> None:
    """Add ``serve-user`` and ``verdicts`` (each a group of sub-commands) to the ``cxr-regions`` app."""
    serve_user = typer.Typer(help="Users of the reading room (`serve --users FILE`).", no_args_is_help=True)
    verdicts = typer.Typer(help="The radiologists' verdicts saved in the reading room.", no_args_is_help=True)
    app.add_typer(serve_user, name="serve-user")
    app.add_typer(verdicts, name="verdicts")

    command(serve_user, "add", UserAddConfig, add)
    command(verdicts, "export", VerdictsExportConfig, export)


def add(config: UserAddConfig) -> None:
    """Add a user (or, with --force, set a new password); asks for the password twice, hidden."""
    from cxr_regions.errors import UserError
    from cxr_regions.serve.users import Users, add_user, check_name

    name, users, force = config.name, config.users, config.force
    check_name(name)
    if users.exists() and name in Users.load(users) and not force:
        raise UserError(f"user {name!r} already exists in {users}; use --force to replace their password")
    if config.password_stdin:
        password = typer.get_text_stream("stdin").readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    add_user(users, name, password, replace=force)
    typer.echo(f"{'updated' if force else 'added'} user {name} in {users} (argon2id hash, mode 0600)")


def export(config: VerdictsExportConfig) -> None:
    """Write every verdict as labels.csv (report_id = accession number, the five regions, reader, time).

    The file works as `label-eval --gold` and as `build --labels` (use `--join image_id` for films
    without an accession number). With no verdicts saved yet it is an error and no file is written.
    """
    from cxr_regions.errors import UserError
    from cxr_regions.serve.store import DB_NAME, Store
    from cxr_regions.serve.verdicts import export_verdicts

    data, output = config.data, config.output
    if not data.is_dir():
        raise UserError(f"data folder not found: {data}; give the --data folder the reading room runs with")
    if not (data / DB_NAME).is_file():
        raise UserError(
            f"{data} holds no reading-room database ({DB_NAME}); is it the folder `serve --data` used?"
        )
    with Store(data) as store:
        if not store.verdicts():
            raise UserError(f"no verdicts saved yet in {data / DB_NAME}; nothing written to {output}")
        rows = export_verdicts(store, output)
    typer.echo(f"wrote {rows} verdict(s) to {output}")
