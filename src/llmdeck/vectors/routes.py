"""/api/collections: list, create, stats, drop, upsert, delete, search, golden queries,
quality history, tune, build, optimize, migrate, rollback. The server puts them behind its
guard: search takes any valid key (applications search), the rest the admin key."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmdeck.config import IndexSettings, Metric
from llmdeck.vectors.collection import MAX_K
from llmdeck.vectors.migrate import Plan
from llmdeck.vectors.quality import parse_golden
from llmdeck.vectors.service import VectorService
from llmdeck.vectors.types import Fusion, Item, SearchMode
from llmdeck.web import json_response, read_model

log = logging.getLogger("llmdeck.vectors")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateBody(_Body):
    """POST /api/collections"""

    name: str
    model: str | None = None
    dim: int | None = None
    metric: Metric | None = None
    normalize: bool | None = None
    index: IndexSettings | None = None
    backend: str | None = None


class ItemBody(_Body):
    """One item to upsert."""

    id: str
    text: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    vector: list[float] | None = None


class UpsertBody(_Body):
    """POST /api/collections/{name}/items"""

    items: list[ItemBody] = Field(min_length=1)
    model: str | None = None


class DeleteBody(_Body):
    """POST /api/collections/{name}/items/delete"""

    ids: list[str] = Field(min_length=1)


class SearchBody(_Body):
    """POST /api/collections/{name}/search"""

    query: str | None = None
    vector: list[float] | None = None
    k: int = Field(default=10, ge=1, le=MAX_K)
    filter: dict[str, Any] | None = None
    mode: SearchMode = "vector"
    fusion: Fusion = "rrf"
    alpha: float = Field(default=0.5, ge=0, le=1)
    model: str | None = None


class GoldenBody(_Body):
    """PUT /api/collections/{name}/golden"""

    queries: list[dict[str, Any]]


class TuneBody(_Body):
    """POST /api/collections/{name}/tune"""

    target_recall: float = Field(default=0.95, gt=0, le=1)
    k: int = Field(default=10, ge=1, le=100)
    queries: int = Field(default=200, ge=10, le=5000)


class BuildBody(_Body):
    """POST /api/collections/{name}/build"""

    index: IndexSettings


class MigrateBody(_Body):
    """POST /api/collections/{name}/migrate (no model: resume the open migration)"""

    model: str | None = None
    dim: int | None = None
    force: bool = False
    max_drop: float = Field(default=0.0, ge=0, le=1)


class CollectionRoutes:
    """The handlers, over one VectorService."""

    def __init__(self, service: VectorService) -> None:
        self.service = service

    async def listing(self, request: Request) -> Response:
        return json_response({"collections": await _run(self.service.list)})

    async def create(self, request: Request) -> Response:
        body = await read_model(request, CreateBody)
        fields = body.model_dump(exclude={"name"})
        await _run(self.service.vectors.create, body.name, **fields)
        return json_response(await _run(self.service.stats, body.name), 201)

    async def stats(self, request: Request) -> Response:
        return json_response(await _run(self.service.stats, request.path_params["name"]))

    async def drop(self, request: Request) -> Response:
        version = request.query_params.get("version")
        number = int(version) if version and version.isdigit() else None
        dropped = await _run(self.service.vectors.drop, request.path_params["name"], number)
        return json_response({"dropped_versions": dropped})

    async def upsert(self, request: Request) -> Response:
        body = await read_model(request, UpsertBody)
        items = [Item(i.id, i.text, i.metadata, i.vector) for i in body.items]
        written = await _run(
            self.service.ingest, request.path_params["name"], items, model=body.model
        )
        return json_response(
            {"upserted": written.count, "tokens": written.tokens, "cost": written.cost}
        )

    async def delete(self, request: Request) -> Response:
        body = await read_model(request, DeleteBody)
        deleted = await _run(self.service.delete, request.path_params["name"], body.ids)
        return json_response({"deleted": deleted})

    async def search(self, request: Request) -> Response:
        body = await read_model(request, SearchBody)
        collection = await _run(self.service.vectors.get, request.path_params["name"])
        hits = await _run(
            collection.search,
            body.query,
            vector=body.vector,
            k=body.k,
            filter=body.filter,
            mode=body.mode,
            fusion_method=body.fusion,
            alpha=body.alpha,
            model=body.model,
        )
        return json_response({"hits": [h.to_dict() for h in hits]})

    async def golden(self, request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "PUT":
            body = await read_model(request, GoldenBody)
            await _run(self.service.vectors.alias, name)
            count = await _run(self.service.quality.set_golden, name, parse_golden(body.queries))
            return json_response({"golden_queries": count})
        found = await _run(self.service.quality.golden, name)
        rows = [{"id": g.id, "query": g.query, "relevant_ids": list(g.relevant_ids)} for g in found]
        return json_response({"queries": rows})

    async def quality(self, request: Request) -> Response:
        name = request.path_params["name"]
        if request.method == "POST":
            collection = await _run(self.service.vectors.get, name)
            score = await _run(self.service.quality.measure, collection, "manual")
            return json_response({"measured": None if score is None else asdict(score)})
        await _run(self.service.vectors.alias, name)
        return json_response(
            {
                "points": await _run(self.service.quality.history, name),
                "drift": await _run(self.service.quality.drift_history, name),
                "events": await _run(self.service.quality.events, name),
            }
        )

    async def tune(self, request: Request) -> Response:
        body = await read_model(request, TuneBody)
        found = await _run(
            self.service.tune,
            request.path_params["name"],
            target_recall=body.target_recall,
            k=body.k,
            queries=body.queries,
        )
        return json_response(found.to_dict())

    async def build(self, request: Request) -> Response:
        body = await read_model(request, BuildBody)
        await _run(self.service.build, request.path_params["name"], body.index)
        return json_response(await _run(self.service.stats, request.path_params["name"]))

    async def optimize(self, request: Request) -> Response:
        return json_response(await _run(self.service.optimize, request.path_params["name"]))

    async def migrate(self, request: Request) -> Response:
        body = await read_model(request, MigrateBody)
        plan = Plan(force=body.force, max_drop=body.max_drop)
        status = await _run(
            self.service.migrate_in_background,
            request.path_params["name"],
            body.model,
            plan,
            dim=body.dim,
        )
        return json_response(status, 202)

    async def migration(self, request: Request) -> Response:
        name = request.path_params["name"]
        await _run(self.service.vectors.alias, name)
        return json_response({"migration": await _run(self.service.migrations.status, name)})

    async def rollback(self, request: Request) -> Response:
        version = await _run(self.service.migrations.rollback, request.path_params["name"])
        return json_response({"version": version})

    def table(self) -> list[BaseRoute]:
        """Every route."""
        base = "/api/collections"
        one = base + "/{name}"
        return [
            Route(base, self.listing, methods=["GET"]),
            Route(base, self.create, methods=["POST"]),
            Route(one, self.stats, methods=["GET"]),
            Route(one, self.drop, methods=["DELETE"]),
            Route(one + "/items", self.upsert, methods=["POST"]),
            Route(one + "/items/delete", self.delete, methods=["POST"]),
            Route(one + "/golden", self.golden, methods=["GET", "PUT"]),
            Route(one + "/quality", self.quality, methods=["GET", "POST"]),
            Route(one + "/tune", self.tune, methods=["POST"]),
            Route(one + "/build", self.build, methods=["POST"]),
            Route(one + "/optimize", self.optimize, methods=["POST"]),
            Route(one + "/migrate", self.migrate, methods=["POST"]),
            Route(one + "/migration", self.migration, methods=["GET"]),
            Route(one + "/rollback", self.rollback, methods=["POST"]),
        ]


def routes(service: VectorService) -> list[BaseRoute]:
    """The collection management routes (for the admin key)."""
    return CollectionRoutes(service).table()


def search_routes(service: VectorService) -> list[BaseRoute]:
    """POST /api/collections/{name}/search (for any valid key)."""
    handlers = CollectionRoutes(service)
    return [Route("/api/collections/{name}/search", handlers.search, methods=["POST"])]


async def _run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kwargs)


async def quality_schedule(service: VectorService) -> None:
    """Measure every collection with golden queries each `quality_interval` seconds."""
    interval = service.settings.quality_interval
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(service.measure_all, "schedule")
        except Exception:  # a failed round is logged; the schedule goes on
            log.exception("scheduled retrieval-quality measurement failed")
