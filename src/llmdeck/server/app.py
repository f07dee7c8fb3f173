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
from llmdeck.gateway import Gateway, Principal
from llmdeck.gateway.auth import KeyResolver, bearer
from llmdeck.gateway.batch import BatchRunner
from llmdeck.gateway.batch.routes import routes as batch_routes
from llmdeck.gateway.cache.routes import routes as cache_routes
from llmdeck.gateway.keys.routes import routes as key_routes
from llmdeck.gateway.routes import routes as gateway_routes
from llmdeck.gateway.stages.guards import gateway_judge, local_embed
from llmdeck.guards import DetectorContext
from llmdeck.guards.routes import routes as guards_routes
from llmdeck.observe import Recorder
from llmdeck.observe.routes import api_routes, ingest_routes, metrics_routes
from llmdeck.observe.service import Background
from llmdeck.prompts import CanaryController, ErrorRateCheck, Prompts
from llmdeck.prompts import routes as prompt_routes
from llmdeck.server import health
from llmdeck.server.access import guard
from llmdeck.server.embedder import LoopEmbedder
from llmdeck.server.errors import HANDLERS
from llmdeck.server.fast import App
from llmdeck.server.hosts import LoopbackHostMiddleware
from llmdeck.store import Store, open_store
from llmdeck.vectors import VectorService
from llmdeck.vectors.routes import quality_schedule
from llmdeck.vectors.routes import routes as vector_routes
from llmdeck.vectors.routes import search_routes as vector_search_routes

log = logging.getLogger("llmdeck.server")


@dataclass
class Runtime:
    """What a running server holds; one per process."""

    settings: Settings
    store: Store
    recorder: Recorder
    gateway: Gateway
    prompts: Prompts
    vectors: VectorService
    embedder: LoopEmbedder
    batches: BatchRunner


def build_runtime(settings: Settings, *, keys: KeyResolver | None = None) -> Runtime:
    """Wire the parts together; nothing is opened or started yet. `keys` replaces the virtual
    keys resolver (tests of applications use it)."""
    store = open_store(settings.effective_database_url, run_migrations=False)
    recorder = Recorder(store, settings.observe)
    prompts = Prompts(store, settings.prompts)
    gateway = Gateway(settings, recorder, prompts=prompts, keys=keys)
    embedder = LoopEmbedder(gateway)
    vectors = VectorService(
        store,
        settings.vectors,
        settings.home,
        embed=embedder,
        database_url=settings.database_url,
        recorder=recorder,
    )
    batches = BatchRunner(gateway, store, settings.batch)
    return Runtime(settings, store, recorder, gateway, prompts, vectors, embedder, batches)


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    """The ASGI application for `settings`."""
    rt = runtime or build_runtime(settings)
    background = Background(rt.recorder)
    auth = rt.gateway.auth

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(rt.store.migrate)
        await background.start()
        await rt.gateway.start()
        rt.embedder.bind(asyncio.get_running_loop())
        rt.batches.start()
        canaries = CanaryController(rt.prompts, [ErrorRateCheck(rt.store)])
        tasks = [
            asyncio.create_task(canaries.run(settings.prompts.canary_interval)),
            asyncio.create_task(quality_schedule(rt.vectors)),
        ]
        try:
            yield
        finally:
            await rt.batches.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(rt.vectors.close)
            await rt.gateway.close()
            await background.close()
            await asyncio.to_thread(rt.store.close)

    checks: dict[str, Any] = {
        "database": health.database_check(rt.store),
        "recorder": health.recorder_check(rt.recorder),
        "deployments": health.deployments_check(rt.gateway.router),
        "state": rt.gateway.controls.health,
    }
    loopback_only = rt.gateway.auth.open
    middleware = [Middleware(LoopbackHostMiddleware)] if loopback_only else []
    detectors = DetectorContext(local_embed(), gateway_judge(rt.gateway))

    async def authenticate(request: Request) -> Principal:
        header = request.headers
        return await rt.gateway.auth.authenticate(
            bearer(header.get("authorization")) or header.get("x-api-key")
        )

    hot = gateway_routes(rt.gateway)
    app = App(
        fast=hot,
        loopback_only=loopback_only,
        routes=[
            *health.routes(checks),
            *hot,
            *prompt_routes(rt.prompts, authenticate),
            *batch_routes(rt.gateway, rt.batches),
            *cache_routes(rt.gateway),
            *guards_routes(authenticate, detectors),
            *guard(ingest_routes(rt.recorder, settings.server.max_body_bytes), auth, admin=False),
            *guard([*api_routes(rt.recorder), *metrics_routes(rt.recorder)], auth, admin=True),
            *guard(vector_search_routes(rt.vectors), auth, admin=False),
            *guard(vector_routes(rt.vectors), auth, admin=True),
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
