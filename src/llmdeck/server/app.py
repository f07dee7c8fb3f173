"""create_app(settings): the HTTP application that mounts each capability's routes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request

from llmdeck.config import Settings
from llmdeck.gateway import Gateway
from llmdeck.gateway.auth import bearer
from llmdeck.gateway.keys.routes import routes as key_routes
from llmdeck.gateway.routes import routes as gateway_routes
from llmdeck.gateway.stages.guards import gateway_judge, local_embed
from llmdeck.guards import DetectorContext
from llmdeck.guards.routes import routes as guards_routes
from llmdeck.observe import Recorder
from llmdeck.server import health
from llmdeck.server.access import guard
from llmdeck.server.errors import HANDLERS
from llmdeck.server.hosts import LoopbackHostMiddleware
from llmdeck.store import Store, open_store

log = logging.getLogger("llmdeck.server")


@dataclass
class Runtime:
    """What a running server holds; one per process."""

    settings: Settings
    store: Store
    recorder: Recorder
    gateway: Gateway


def build_runtime(settings: Settings) -> Runtime:
    """Wire the parts together; nothing is opened or started yet."""
    store = open_store(settings.effective_database_url, run_migrations=False)
    recorder = Recorder(store, settings.observe)
    gateway = Gateway(settings, recorder)
    return Runtime(settings=settings, store=store, recorder=recorder, gateway=gateway)


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    """The ASGI application for `settings`."""
    rt = runtime or build_runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(rt.store.migrate)
        rt.recorder.start()
        await rt.gateway.start()
        try:
            yield
        finally:
            await rt.gateway.close()
            await asyncio.to_thread(rt.recorder.close)
            await asyncio.to_thread(rt.store.close)

    checks: dict[str, Any] = {
        "database": health.database_check(rt.store),
        "recorder": health.recorder_check(rt.recorder),
        "state": rt.gateway.controls.health,
    }
    middleware = [Middleware(LoopbackHostMiddleware)] if rt.gateway.auth.open else []
    detectors = DetectorContext(local_embed(), gateway_judge(rt.gateway))

    async def authenticate(request: Request) -> object:
        return await rt.gateway.auth.authenticate(bearer(request.headers.get("authorization")))

    app = Starlette(
        routes=[
            *health.routes(checks),
            *gateway_routes(rt.gateway),
            *guards_routes(authenticate, detectors),
            *guard(
                key_routes(rt.gateway.controls, admin_key_set=settings.admin_key is not None),
                rt.gateway.auth,
                admin=True,
            ),
        ],
        middleware=middleware,
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    app.state.runtime = rt
    return app


__all__ = ["Runtime", "build_runtime", "create_app"]
