"""llmdeck serve"""

from __future__ import annotations

import gc
import os

import click

from llmdeck.cli._output import config_option
from llmdeck.config import Settings, load_settings
from llmdeck.server.hosts import check_bind


@click.command()
@config_option
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 4000).")
@click.option("--workers", type=int, default=1, show_default=True, help="Server processes.")
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
    """Run uvicorn until interrupted."""
    import uvicorn

    from llmdeck.server import create_app

    host = host or settings.server.host
    port = settings.server.port if port is None else port
    app = create_app(settings)
    runtime = app.state.runtime
    check_bind(host, open_access=runtime.gateway.auth.open, insecure=insecure)
    where = f"http://{host}:{port}"
    click.echo(f"llmdeck serving on {where}  (database: {runtime.store.url})", err=True)
    if runtime.gateway.auth.open:
        click.echo("no keys configured: open to anyone on this machine, loopback only", err=True)
    if banner:
        click.echo(banner.replace("{url}", where), err=True)
    tune_gc()
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
        workers=None if workers == 1 else workers,
    )


YOUNG_OBJECTS = 10_000


def tune_gc() -> None:
    """Set the garbage collector up for serving (once the app is built, before it serves).

    Requests make and drop many small container objects, so with the default thresholds the
    young generation is collected every 700 allocations and every full collection walks the
    whole heap of modules, schemas and tables built at startup: 20-25% of the CPU under load.
    Freezing what startup built keeps full collections off it, and a larger young threshold
    makes collections ten times rarer (cycles are still found, a little later).
    """
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_OBJECTS), middle, old)
