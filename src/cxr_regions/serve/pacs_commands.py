"""``cxr-regions pacs retry``, ``pacs forget`` and ``pacs jobs``: a person looks at and re-queues the PACS
link's set-aside work.

They act on the reading room's database (``--data``), running or not: a running ``serve`` picks the
re-queued jobs up within a second. They join the ``pacs`` command group, which the pacs stage registers;
they live here because the jobs are the reading room's (the pacs stage knows nothing of its database).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from cxr_regions.extras import require_extra
from cxr_regions.options import cli, command

DATA_HELP = "The reading room's data folder (`serve --data`)."


def _listed(values) -> list[str]:
    """What the command line gives for a repeated value (a tuple, or None) as a list."""
    return [str(v) for v in values or ()]


@dataclass
class PacsRetryConfig:
    """What one ``cxr-regions pacs retry`` call is given."""

    uids: list[str] = field(
        default_factory=list,
        metadata=cli("SOP Instance UIDs of the originals whose jobs to retry.", argument=True, parse=_listed),
    )
    data: Path = field(default=Path("reading-room"), metadata=cli(DATA_HELP, "--data"))
    everything: bool = field(default=False, metadata=cli("Retry every set-aside or waiting job.", "--all"))

    def validate(self) -> None:
        from cxr_regions.errors import UserError

        if bool(self.uids) == self.everything:
            raise UserError("name the SOP Instance UIDs to retry, or pass --all (not both)")


@dataclass
class PacsForgetConfig:
    """What one ``cxr-regions pacs forget`` call is given."""

    uids: list[str] = field(
        metadata=cli("SOP Instance UIDs of the PACS instances to forget.", argument=True, parse=_listed)
    )
    data: Path = field(default=Path("reading-room"), metadata=cli(DATA_HELP, "--data"))


@dataclass
class PacsJobsConfig:
    """What one ``cxr-regions pacs jobs`` call is given."""

    data: Path = field(default=Path("reading-room"), metadata=cli(DATA_HELP, "--data"))
    state: list[str] = field(
        default_factory=lambda: ["set_aside"],
        metadata=cli(
            "States to list (repeat): pending, running, done, failed, set_aside.", "--state", parse=_listed
        ),
    )

    def validate(self) -> None:
        require_extra("serve", "cxr-regions pacs jobs")  # the states are the database's
        from cxr_regions.errors import UserError
        from cxr_regions.serve.schema import PACS_JOB_STATES

        unknown = [s for s in self.state if s not in PACS_JOB_STATES]
        if unknown:
            raise UserError(f"--state {', '.join(unknown)}: the states are {', '.join(PACS_JOB_STATES)}")


def _group(app: typer.Typer, name: str) -> typer.Typer:
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help="The hospital's PACS.", no_args_is_help=True)
    app.add_typer(group, name=name)
    return group


def register(app: typer.Typer) -> None:
    """Add ``retry``, ``forget`` and ``jobs`` to the ``pacs`` group of the ``cxr-regions`` app."""
    pacs_app = _group(app, "pacs")
    command(pacs_app, "retry", PacsRetryConfig, retry)
    command(pacs_app, "forget", PacsForgetConfig, forget)
    command(pacs_app, "jobs", PacsJobsConfig, jobs)


def _book(data: Path):
    from cxr_regions.errors import UserError
    from cxr_regions.serve.pacs_jobs import JobBook
    from cxr_regions.serve.store import DB_NAME, Store

    if not (Path(data) / DB_NAME).is_file():
        raise UserError(
            f"{data} holds no reading-room database ({DB_NAME}); pass the folder `serve --data` uses"
        )
    return JobBook(Store(Path(data)))


def retry(config: PacsRetryConfig) -> None:
    """Try set-aside (and waiting) PACS jobs again now, with a fresh count of attempts."""
    require_extra("serve", "cxr-regions pacs retry")
    book = _book(config.data)
    try:
        count = book.retry(config.uids, everything=config.everything)
    finally:
        book.store.close()
    typer.echo(f"{count} job(s) queued again")


def forget(config: PacsForgetConfig) -> None:
    """Forget what the link did with these PACS instances, so that it does it again.

    Each is fetched again (e.g. corrected in the PACS under the same UID) and its results are sent
    again once read."""
    require_extra("serve", "cxr-regions pacs forget")
    book = _book(config.data)
    try:
        counts = book.forget(config.uids)
    finally:
        book.store.close()
    typer.echo(
        f"forgot {counts['records']} instance record(s) and {counts['jobs']} job(s); "
        f"{counts['fetches']} fetch(es) queued again"
    )


def jobs(config: PacsJobsConfig) -> None:
    """List the PACS link's jobs (by default the set-aside ones, with their reasons)."""
    require_extra("serve", "cxr-regions pacs jobs")
    book = _book(config.data)
    try:
        counts, found = book.counts(), book.jobs(config.state)
    finally:
        book.store.close()
    typer.echo(", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items()))
    for job in found:
        typer.echo(
            f"{job.id}\t{job.kind}\t{job.state}\t{job.attempts} attempt(s)\t{job.sop_instance_uid}"
            f"\t{job.last_error or job.note or ''}"
        )
