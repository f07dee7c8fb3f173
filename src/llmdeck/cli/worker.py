"""llmdeck worker"""

from __future__ import annotations

import os

import click

from llmdeck.cli._output import config_option
from llmdeck.config import load_settings


@click.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface of /health.")
@click.option(
    "--port", type=int, default=4001, show_default=True, help="Port of /health (0: any free)."
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Jobs this process runs at once (default: jobs.concurrency).",
)
def worker(config_path: str | None, host: str, port: int, concurrency: int | None) -> None:
    """Run background jobs (batches, ...) from the shared queue until stopped (SIGTERM lets
    running jobs finish). Needs PostgreSQL (LLMDECK_DATABASE_URL); serves /health and
    /health/ready for probes."""
    import uvicorn

    from llmdeck.server.worker import create_worker_app

    settings = load_settings(config_path, os.environ)
    if concurrency is not None:
        jobs = settings.jobs.model_copy(update={"concurrency": concurrency})
        settings = settings.model_copy(update={"jobs": jobs})
    app = create_worker_app(settings)
    click.echo(
        f"llmdeck worker: {settings.jobs.concurrency} jobs at once; health on "
        f"http://{host}:{port}/health",
        err=True,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=max(10, int(settings.jobs.drain_timeout) + 5),
    )
