"""llmdeck serve"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from llmdeck.cli._output import config_option
from llmdeck.config import Settings, load_settings
from llmdeck.config.env import LLMDECK_CONFIG
from llmdeck.server.hosts import check_bind


@click.command()
@config_option
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 4000).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Server processes sharing the port (each with its own event loop).",
)
@click.option("--insecure", is_flag=True, help="Allow listening beyond loopback with no keys.")
def serve(
    config_path: str | None, host: str | None, port: int | None, workers: int, insecure: bool
) -> None:
    """Serve the gateway, the management API and the UI."""
    settings = load_settings(config_path, os.environ)
    run_server(settings, host=host, port=port, workers=workers, insecure=insecure)


def run_server(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int = 1,
    insecure: bool = False,
    banner: str = "",
) -> None:
    """Run uvicorn until interrupted: one process serving `settings`, or `workers` processes
    that each build the app from the same file and environment."""
    import uvicorn

    from llmdeck.server.factory import FACTORY, tune_gc

    host = host or settings.server.host
    port = settings.server.port if port is None else port
    # keys are loaded when the server starts: at this point only the admin key counts
    check_bind(host, open_access=settings.admin_key is None, insecure=insecure)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": 10,
    }
    if workers == 1:
        from llmdeck.server import create_app

        app = create_app(settings)
        _announce(settings, host, port, workers, banner)
        tune_gc()
        uvicorn.run(app, **options)
        return
    if settings.source:  # each worker process loads the file this one did
        os.environ[LLMDECK_CONFIG.name] = str(Path(settings.source).resolve())
    _announce(settings, host, port, workers, banner)
    uvicorn.run(FACTORY, factory=True, workers=workers, **options)


def _announce(settings: Settings, host: str, port: int, workers: int, banner: str) -> None:
    from sqlalchemy.engine import make_url

    from llmdeck.store import normalise_url

    where = f"http://{host}:{port}"
    url = make_url(normalise_url(settings.effective_database_url))
    shown = url.render_as_string(hide_password=True)
    processes = f", {workers} processes" if workers > 1 else ""
    click.echo(f"llmdeck serving on {where}  (database: {shown}{processes})", err=True)
    if settings.admin_key is None:
        click.echo("no keys configured: open to anyone on this machine, loopback only", err=True)
    if banner:
        click.echo(banner.replace("{url}", where), err=True)
