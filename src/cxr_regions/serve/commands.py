"""Command-line entry point of the reading room: ``cxr-regions serve RUN``."""

from __future__ import annotations

import dataclasses

import typer

from cxr_regions.extras import require_extra
from cxr_regions.options import command
from cxr_regions.serve.configuration import ServeConfig

# beside the DICOM and HTTP libraries the log redaction quiets (cxr_regions.redaction.CHATTY_LOGGERS)
QUIET_LIBRARIES = ("alembic", "openjpeg", "watchdog")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""
    command(app, "serve", ServeConfig, serve)

    from cxr_regions.serve import admin_commands, pacs_commands

    admin_commands.register(app)
    pacs_commands.register(app)


def serve(config: ServeConfig) -> None:
    """Start the reading room: a web worklist and viewer where radiologists read films with the
    model's probabilities and heatmaps, and save their verdicts (docs/reading-room.md).

    After `make demo`, `cxr-regions serve demo-output/run` opens with the demo's test films.
    """
    require_extra("serve", "cxr-regions serve")
    if config.pacs is not None:
        require_extra("pacs", "cxr-regions serve --pacs")

    import logging

    import torch
    import uvicorn
    from rich.console import Console

    from cxr_regions.contracts.evaluation_files import THRESHOLDS
    from cxr_regions.evaluation import default_evaluation_dir
    from cxr_regions.serve.app import create_app

    torch.set_num_threads(max(1, config.threads))
    evaluation = default_evaluation_dir(config.run)
    if config.thresholds is None and THRESHOLDS.exists(evaluation):
        config = dataclasses.replace(config, thresholds=evaluation)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for warning in config.warnings():
        logging.getLogger("cxr_regions.serve").warning(warning)
    for chatty in QUIET_LIBRARIES:  # one INFO line per film or result is ours; theirs only as warnings
        logging.getLogger(chatty).setLevel(logging.WARNING)
    application = create_app(config)
    scheme = "https" if config.tls else "http"
    listening = f"; DICOM listener {config.ae_title} on {config.dicom_host}:{config.dicom_port}"
    Console().print(
        f"reading room on [bold]{scheme}://{config.host}:{config.port}/[/] (data in {config.data}; "
        f"{'logins on' if config.users else 'no logins, reader = local'}"
        f"{f'; PACS {config.pacs}' if config.pacs else ''}"
        f"{listening if config.dicom_port else ''}"
        "); Ctrl+C stops it",
        highlight=False,
    )
    uvicorn.run(
        application, host=config.host, port=config.port, log_level="info", access_log=False,
        ssl_certfile=config.tls_cert, ssl_keyfile=config.tls_key,
        proxy_headers=False,  # create_app applies --forwarded-allow-ips itself (uvicorn's middleware)
    )  # fmt: skip
