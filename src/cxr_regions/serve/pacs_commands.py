"""``cxr-regions pacs retry`` and ``pacs forget``: a person re-queues the PACS link's set-aside work.

They act on the reading room's database (``--data``), running or not: a running ``serve`` picks the
re-queued jobs up within a second. They join the ``pacs`` command group, registered by the pacs stage;
they live here because the jobs are the reading room's (the pacs stage knows nothing of its database).
"""

from __future__ import annotations

from pathlib import Path

import typer

DATA = typer.Option(Path("reading-room"), "--data", help="The reading room's data folder (`serve --data`).")


def _group(app: typer.Typer, name: str) -> typer.Typer:
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help="The hospital's PACS.", no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


def _book(data: Path):
    from cxr_regions.errors import UserError
    from cxr_regions.serve.pacs_jobs import JobBook
    from cxr_regions.serve.store import DB_NAME, Store

    if not (Path(data) / DB_NAME).is_file():
        raise UserError(
            f"{data} holds no reading-room database ({DB_NAME}); pass the folder `serve --data` uses"
        )
    return JobBook(Store(Path(data)))


def register(app: typer.Typer) -> None:
    """Add ``retry``, ``forget`` and ``jobs`` to the ``pacs`` group of the ``cxr-regions`` app."""
    pacs_app = _group(app, "pacs")

    @pacs_app.command("retry")
    def retry(
        uids: list[str] = typer.Argument(
            None, help="SOP Instance UIDs of the originals whose jobs to retry."
        ),
        data: Path = DATA,
        everything: bool = typer.Option(False, "--all", help="Retry every set-aside or failed job."),
    ) -> None:
        """Try set-aside (and waiting) PACS jobs again now, with a fresh count of attempts."""
        from cxr_regions.errors import UserError

        if bool(uids) == everything:
            raise UserError("name the SOP Instance UIDs to retry, or pass --all (not both)")
        book = _book(data)
        try:
            count = book.retry(uids or (), everything=everything)
        finally:
            book.store.close()
        typer.echo(f"{count} job(s) queued again")

    @pacs_app.command("forget")
    def forget(
        uids: list[str] = typer.Argument(..., help="SOP Instance UIDs of the PACS instances to forget."),
        data: Path = DATA,
    ) -> None:
        """Forget what the link did with these PACS instances, so that it does it again.

        Each is fetched again (e.g. corrected in the PACS under the same UID) and its results are sent
        again once read."""
        book = _book(data)
        try:
            counts = book.forget(uids)
        finally:
            book.store.close()
        typer.echo(
            f"forgot {counts['records']} instance record(s) and {counts['jobs']} job(s); "
            f"{counts['fetches']} fetch(es) queued again"
        )

    @pacs_app.command("jobs")
    def jobs(
        data: Path = DATA,
        state: list[str] = typer.Option(
            ["set_aside"], "--state", help="States to list: pending, running, done, failed, set_aside."
        ),
    ) -> None:
        """List the PACS link's jobs (by default the set-aside ones, with their reasons)."""
        book = _book(data)
        try:
            counts, found = book.counts(), book.jobs(state)
        finally:
            book.store.close()
        typer.echo(", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items()))
        for job in found:
            typer.echo(
                f"{job.id}\t{job.kind}\t{job.state}\t{job.attempts} attempt(s)\t{job.sop_instance_uid}"
                f"\t{job.last_error or job.note or ''}"
            )
