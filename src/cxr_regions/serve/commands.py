"""Command-line entry point of the reading room: ``cxr-regions serve RUN``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""

    @app.command()
    def serve(
        run: Path = typer.Argument(
            ..., help="Run folder (`cxr-regions train` output) whose model reads films."
        ),
        data: Path = typer.Option(
            Path("reading-room"), "--data", help="Folder for the database, the films and the heatmap cache."
        ),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; others need --users."),
        port: int = typer.Option(8000, "--port", help="TCP port."),
        users: Path = typer.Option(
            None, "--users", help="Users file (`cxr-regions serve-user add`): logins on."
        ),
        thresholds: Path = typer.Option(
            None,
            "--thresholds",
            help="Evaluation folder or thresholds.csv (default: RUN/evaluation, else 0.5 per region).",
        ),
        watch: Path = typer.Option(
            None, "--watch", help="Folder to take new DICOM files from (PACS export)."
        ),
        reports: Path = typer.Option(
            None, "--reports", help="Report table (accession_number + findings/impression or text)."
        ),
        max_upload_mb: float = typer.Option(64.0, "--max-upload-mb", help="Largest file one may upload."),
        workers: int = typer.Option(1, "--workers", help="Inference threads."),
        method: str = typer.Option("layercam", "--method", help="Heatmap method (as `explain --method`)."),
        device: str = typer.Option("auto", "--device", help="cpu, cuda or auto."),
        threads: int = typer.Option(1, "--threads", help="PyTorch threads."),
        pacs: str = typer.Option(
            None,
            "--pacs",
            help="PACS DICOMweb root to take new chest films from, e.g. http://localhost:8042/dicom-web",
        ),
        pacs_auth: str = typer.Option(
            None, "--pacs-auth", help="USER:PASSWORD-FILE for the PACS (basic auth)."
        ),
        poll: str = typer.Option("30s", "--poll", help="How often to ask the PACS for new films (30s, 2m)."),
        query: str = typer.Option(
            "Modality=CR\\DX",
            "--query",
            help="QIDO-RS filters KEY=VALUE joined by &; \\ separates alternatives.",
        ),
        send_results: bool = typer.Option(
            False,
            "--send-results",
            help="Send each film's Secondary Capture + SR (and verdicts) back to the PACS.",
        ),
        db_busy_timeout: float = typer.Option(
            30.0,
            "--db-busy-timeout",
            help="Seconds a database write waits while another process holds a lock on it.",
        ),
    ) -> None:
        """Start the reading room: a web worklist and viewer where radiologists read films with the
        model's probabilities and heatmaps, and save their verdicts (docs/reading-room.md).

        After `make demo`, `cxr-regions serve demo-output/run` opens with the demo's test films.
        """
        import logging

        import torch
        import uvicorn
        from rich.console import Console

        from cxr_regions.serve.app import create_app
        from cxr_regions.serve.configuration import ServeConfig, parse_duration

        torch.set_num_threads(max(1, threads))
        if thresholds is None and (run / "evaluation" / "thresholds.csv").exists():
            thresholds = run / "evaluation"
        config = ServeConfig(
            run=run, data=data, host=host, port=port, users=users, thresholds=thresholds, watch=watch,
            reports=reports, max_upload_mb=max_upload_mb, workers=workers, method=method, device=device,
            pacs=pacs, pacs_auth=pacs_auth, pacs_poll=parse_duration(poll), pacs_query=query,
            send_results=send_results, db_busy_timeout=db_busy_timeout,
        )  # fmt: skip
        config.validate()
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        application = create_app(config)
        Console().print(
            f"reading room on [bold]http://{host}:{port}/[/] (data in {data}; "
            f"{'logins on' if users else 'no logins, reader = local'}"
            f"{f'; PACS {pacs} every {poll}' if pacs else ''}); Ctrl+C stops it",
            highlight=False,
        )
        uvicorn.run(application, host=host, port=port, log_level="info", access_log=False)

    from cxr_regions.serve import admin_commands

    admin_commands.register(app)
