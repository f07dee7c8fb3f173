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
from starlette.routing import BaseRoute, Route

from llmdeck.config import Settings
from llmdeck.evals import Experiments, build_experiments
from llmdeck.evals import routes as eval_routes
from llmdeck.gateway import Gateway, Principal
from llmdeck.gateway.auth import KeyResolver
from llmdeck.gateway.batch import BatchRunner
from llmdeck.gateway.batch.routes import routes as batch_routes
from llmdeck.gateway.cache.routes import routes as cache_routes
from llmdeck.gateway.keys.routes import routes as key_routes
from llmdeck.gateway.routes import routes as gateway_routes
from llmdeck.gateway.stages.guards import gateway_judge, local_embed
from llmdeck.guards import DetectorContext
from llmdeck.guards.routes import routes as guards_routes
from llmdeck.jobs import Jobs, open_jobs
from llmdeck.observe import Recorder, Spool
from llmdeck.observe.routes import api_routes, ingest_routes, metrics_routes
from llmdeck.observe.service import Background
from llmdeck.prompts import CanaryController, ErrorRateCheck, Prompts
from llmdeck.prompts import routes as prompt_routes
from llmdeck.rag import RagService
from llmdeck.rag import admin_routes as rag_admin_routes
from llmdeck.rag import routes as rag_routes
from llmdeck.server import health
from llmdeck.server.access import guard, principal_of
from llmdeck.server.embedder import LoopEmbedder
from llmdeck.server.errors import HANDLERS
from llmdeck.server.fast import App
from llmdeck.server.hosts import LoopbackHostMiddleware
from llmdeck.server.ui import SessionMiddleware, ui_routes
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
    jobs: Jobs
    rag: RagService
    experiments: Experiments | None = None


def build_runtime(settings: Settings, *, keys: KeyResolver | None = None) -> Runtime:
    """Wire the parts together; nothing is opened or started yet. `keys` replaces the virtual
    keys resolver (tests of applications use it)."""
    store = open_store(settings.effective_database_url, run_migrations=False)
    spool = Spool(settings.home / "spool") if settings.observe.spool else None
    recorder = Recorder(store, settings.observe, spool)
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
    jobs = open_jobs(settings)
    batches = BatchRunner(gateway, store, settings.batch, jobs)
    batches.register()
    rag = RagService(settings, store, vectors, embedder, gateway, recorder)
    rag.register(jobs)
    experiments = build_experiments(settings, store, gateway, prompts, recorder, jobs)
    return Runtime(
        settings, store, recorder, gateway, prompts, vectors, embedder, batches, jobs, rag,
        experiments=experiments,
    )  # fmt: skip


async def open_runtime(rt: Runtime, background: Background, *, work: bool) -> None:
    """Migrate, start recording, start the gateway and the job queue (`work`: run jobs here)."""
    await asyncio.to_thread(rt.store.migrate)
    await background.start()
    await rt.gateway.start()
    rt.embedder.bind(asyncio.get_running_loop())
    await rt.jobs.start(work=work)


async def close_runtime(rt: Runtime, background: Background) -> None:
    """Stop in reverse: jobs (running ones get their drain time), vectors, the gateway, the
    recorder (which writes what is queued), the database."""
    await rt.batches.stop()
    await rt.jobs.close()
    await asyncio.to_thread(rt.vectors.close)
    await rt.gateway.close()
    await background.close()
    await asyncio.to_thread(rt.store.close)


def create_app(settings: Settings, runtime: Runtime | None = None) -> Starlette:
    """The ASGI application for `settings`."""
    rt = runtime or build_runtime(settings)
    background = Background(rt.recorder)
    auth = rt.gateway.auth

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await open_runtime(rt, background, work=settings.jobs.in_server)
        canaries = CanaryController(rt.prompts, [ErrorRateCheck(rt.store)])
        tasks = [
            asyncio.create_task(canaries.run(settings.prompts.canary_interval)),
            asyncio.create_task(quality_schedule(rt.vectors)),
        ]
        await rt.rag.start()  # pipelines with `ingest_on_start`: queued, not waited for
        try:
            yield
        finally:
            await rt.batches.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await close_runtime(rt, background)

    checks: dict[str, Any] = {
        "database": health.database_check(rt.store),
        "recorder": health.recorder_check(rt.recorder),
        "deployments": health.deployments_check(rt.gateway.router),
        "state": rt.gateway.controls.health,
        "jobs": health.jobs_check(rt.jobs),
        "rag": rt.rag.health,
    }
    loopback_only = rt.gateway.auth.open
    routes: list[BaseRoute] = []
    ui, sessions = ui_routes(settings, rt.gateway, lambda: _features(routes))
    middleware = [Middleware(SessionMiddleware, sessions=sessions)]
    if loopback_only:
        middleware.insert(0, Middleware(LoopbackHostMiddleware))
    detectors = DetectorContext(local_embed(), gateway_judge(rt.gateway))

    async def authenticate(request: Request) -> Principal:
        return await principal_of(request.scope, rt.gateway.auth)

    hot = gateway_routes(rt.gateway)
    routes += [
        *health.routes(checks),
        *hot,
        *prompt_routes(rt.prompts, authenticate),
        *batch_routes(rt.gateway, rt.batches),
        *cache_routes(rt.gateway, authenticate),
        *guards_routes(authenticate, detectors),
        *guard(ingest_routes(rt.recorder, settings.server.max_body_bytes), auth, admin=False),
        *guard([*api_routes(rt.recorder), *metrics_routes(rt.recorder)], auth, admin=True),
        *guard(vector_search_routes(rt.vectors), auth, admin=False),
        *guard(vector_routes(rt.vectors), auth, admin=True),
        *(
            guard(eval_routes(rt.experiments.evals, rt.experiments), auth, admin=True)
            if rt.experiments is not None
            else []
        ),
        *guard(rag_routes(rt.rag), auth, admin=False),
        *guard(rag_admin_routes(rt.rag), auth, admin=True),
        *guard(
            key_routes(rt.gateway.controls, admin_key_set=settings.admin_key is not None),
            rt.gateway.auth,
            admin=True,
        ),
        *ui,
    ]
    app = App(
        fast=hot,
        loopback_only=loopback_only,
        routes=routes,
        middleware=middleware,
        exception_handlers=HANDLERS,
        lifespan=lifespan,
    )
    app.state.runtime = rt
    return app


def _features(routes: list[BaseRoute]) -> dict[str, bool]:
    """Which optional APIs this server has (the UI shows their pages only then)."""
    paths = {route.path for route in routes if isinstance(route, Route)}
    return {
        "datasets": "/api/datasets" in paths,
        "experiments": "/api/experiments" in paths,
        "rag": "/api/rag/query" in paths,
    }


__all__ = ["Runtime", "build_runtime", "close_runtime", "create_app", "open_runtime"]
