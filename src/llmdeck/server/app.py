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

from llmdeck.config import Settings
from llmdeck.gateway import Gateway
from llmdeck.gateway.routes import routes as gateway_routes
from llmdeck.observe import Recorder
from llmdeck.server import health
from llmdeck.server.access import make_guard
from llmdeck.server.embedder import LoopEmbedder
from llmdeck.server.errors import HANDLERS
from llmdeck.server.hosts import LoopbackHostMiddleware
from llmdeck.store import Store, open_store
from llmdeck.vectors import VectorService
from llmdeck.vectors.routes import quality_schedule
from llmdeck.vectors.routes import routes as vector_routes

log = logging.getLogger("llmdeck.server")


@dataclass
class Runtime:
    """What a running server holds; one per process."""

    settings: Settings
    store: Store
    recorder: Recorder
    gateway: Gateway
    vectors: VectorService
    embedder: LoopEmbedder


def build_runtime(settings: Settings) -> Runtime:
    """Wire the parts together; nothing is opened or started yet."""
    store = open_store(settings.effective_database_url, run_migrations=False)
    recorder = Recorder(store, settings.observe)
    gateway = Gateway(settings, recorder)
    embedder = LoopEmbedder(gateway)
    vectors = VectorService(
        store,
        settings.vectors,
        settings.home,
        embed=embedder,
        database_url=settings.database_url,
    )
    return Runtime(settings, store, recorder, gateway, vectors, embedder)


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    """The ASGI application for `settings`."""
    rt = runtime or build_runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(rt.store.migrate)
        rt.recorder.start()
        await rt.gateway.start()
        rt.embedder.bind(asyncio.get_running_loop())
        monitor = asyncio.create_task(quality_schedule(rt.vectors))
        try:
            yield
        finally:
            monitor.cancel()
            await asyncio.to_thread(rt.vectors.close)
            await rt.gateway.close()
            await asyncio.to_thread(rt.recorder.close)
            await asyncio.to_thread(rt.store.close)

    checks: dict[str, Any] = {
        "database": health.database_check(rt.store),
        "recorder": health.recorder_check(rt.recorder),
    }
    middleware = [Middleware(LoopbackHostMiddleware)] if rt.gateway.auth.open else []
    app = Starlette(
        routes=[
            *health.routes(checks),
            *gateway_routes(rt.gateway),
            *vector_routes(rt.vectors, make_guard(rt.gateway.auth)),
        ],
        middleware=middleware,
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    app.state.runtime = rt
    return app


__all__ = ["Runtime", "build_runtime", "create_app"]
