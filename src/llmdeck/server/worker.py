"""The application of a `llmdeck worker` process: the same runtime as a server (gateway,
recorder, job handlers), working the shared job queue, with only the health routes served
(for a load balancer's or Kubernetes' probes)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette

from llmdeck.config import Settings
from llmdeck.errors import ConfigError, Problem
from llmdeck.observe.service import Background
from llmdeck.server import health
from llmdeck.server.app import Runtime, build_runtime, close_runtime, open_runtime


def create_worker_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    """The worker for `settings`; ConfigError unless the job queue is shared (PostgreSQL)."""
    rt = runtime or build_runtime(settings)
    if not rt.jobs.shared:
        raise ConfigError(
            [
                Problem(
                    "jobs.backend",
                    "llmdeck worker needs a shared job queue: set LLMDECK_DATABASE_URL to a "
                    "PostgreSQL database (with the embedded SQLite default, `llmdeck serve` "
                    "runs the jobs itself)",
                )
            ]
        )
    background = Background(rt.recorder)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await open_runtime(rt, background, work=True)
        try:
            yield
        finally:
            await close_runtime(rt, background)

    checks: dict[str, Any] = {
        "database": health.database_check(rt.store),
        "recorder": health.recorder_check(rt.recorder),
        "state": rt.gateway.controls.health,
        "jobs": health.jobs_check(rt.jobs),
    }
    app = Starlette(routes=health.routes(checks), lifespan=lifespan)
    app.state.runtime = rt
    return app


__all__ = ["create_worker_app"]
