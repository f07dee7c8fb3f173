"""/api/cache: what the cache did (stats), clearing it, and feedback on a cached answer.

GET    /api/cache/stats                  admin: counters per alias, hit rate next to
                                         suspected false hits, tokens and dollars saved
DELETE /api/cache[?model=ALIAS]          admin: drop the entries (of one alias)
POST   /api/cache/feedback               {"trace_id", "helpful": false}: the cached answer
                                         served with that trace id was wrong; it is counted
                                         as a suspected false hit and removed
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmdeck.errors import Forbidden, NotFound
from llmdeck.gateway.auth import bearer
from llmdeck.gateway.call import Principal
from llmdeck.store import tables
from llmdeck.web import json_response, read_model

if TYPE_CHECKING:
    from llmdeck.gateway.gateway import Gateway
    from llmdeck.gateway.stages.cache import CacheStage

HitRef = tuple[str, str, str | None]  # alias, entry key, key id of the caller served


class Feedback(BaseModel):
    """Feedback on one answer, named by the `x-llmdeck-trace-id` it was served with."""

    model_config = ConfigDict(extra="forbid")

    trace_id: str = Field(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$")
    helpful: bool


def routes(
    gateway: Gateway, authenticate: Callable[[Request], Awaitable[Principal]] | None = None
) -> list[BaseRoute]:
    """The cache's management routes; `authenticate` (default: the bearer key) says who asks."""

    async def principal_of(request: Request) -> Principal:
        if authenticate is not None:
            return await authenticate(request)
        return await gateway.auth.authenticate(bearer(request.headers.get("authorization")))

    async def admin(request: Request) -> CacheStage | None:
        principal = await principal_of(request)
        if not principal.admin:
            raise Forbidden("the cache's management routes need the admin key")
        return gateway.cache

    async def stats(request: Request) -> Response:
        stage = await admin(request)
        if stage is None:
            return json_response({"enabled": False, "entries": 0, "aliases": {}})
        entries = await stage.backend.count()
        body = {"enabled": True, "entries": entries, "aliases": stage.stats.as_dict()}
        return json_response(body)

    async def clear(request: Request) -> Response:
        stage = await admin(request)
        alias = request.query_params.get("model")
        if alias is not None and gateway.settings.alias(alias) is None:
            raise NotFound(f"model {alias!r} not found", code="model_not_found", param="model")
        removed = await stage.backend.clear(alias) if stage is not None else 0
        return json_response({"removed": removed})

    async def feedback(request: Request) -> Response:
        principal = await principal_of(request)
        body = await read_model(request, Feedback)
        stage = gateway.cache
        found = None
        if stage is not None:
            found = stage.recent_hit(body.trace_id) or await _hit_in_traces(gateway, body.trace_id)
        if found is None or not (principal.admin or found[2] == principal.key_id):
            raise NotFound(f"no cached answer was served with trace id {body.trace_id}")
        assert stage is not None
        return json_response(await _apply(stage, found, body))

    return [
        Route("/api/cache/stats", stats, methods=["GET"]),
        Route("/api/cache", clear, methods=["DELETE"]),
        Route("/api/cache/feedback", feedback, methods=["POST"]),
    ]


async def _apply(stage: CacheStage, found: HitRef, body: Feedback) -> dict[str, Any]:
    alias, key, _ = found
    result: dict[str, Any] = {"trace_id": body.trace_id, "entry": key, "removed": False}
    if body.helpful:
        return result
    stage.stats.of(alias).suspected["feedback"] += 1
    entry = await stage.backend.get(key)
    if entry is not None:
        await stage.backend.delete(entry)
        result["removed"] = True
    return result


async def _hit_in_traces(gateway: Gateway, trace_id: str) -> HitRef | None:
    """A hit another process (or this one, long ago) served, from its recorded span."""
    spans = tables.spans
    query = select(spans.c.model_alias, spans.c.key_id, spans.c.attributes).where(
        spans.c.trace_id == trace_id, spans.c.cache.in_(["hit", "semantic-hit"])
    )
    rows = await gateway.recorder.store.aread(lambda conn: list(conn.execute(query)))
    for alias, key_id, attributes in rows:
        key = (attributes or {}).get("cache_entry")
        if isinstance(key, str) and alias:
            return alias, key, key_id
    return None
