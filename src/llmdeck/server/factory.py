"""The application as `llmdeck serve --workers N` starts it in each process: uvicorn can only
fork an import string, so each worker process builds its own app from the environment (the
parent sets `$LLMDECK_CONFIG` to the file it loaded)."""

from __future__ import annotations

import gc
import os

from starlette.applications import Starlette

from llmdeck.config import load_settings
from llmdeck.server.app import create_app

FACTORY = "llmdeck.server.factory:app_from_environment"
"""What uvicorn imports (with `factory=True`) in each worker process."""

YOUNG_OBJECTS = 10_000


def app_from_environment() -> Starlette:
    """The app for the settings in `$LLMDECK_CONFIG` (or ./llmdeck.yaml) and `LLMDECK_*`."""
    app = create_app(load_settings(None, os.environ))
    tune_gc()
    return app


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
