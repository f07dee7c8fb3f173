"""/api/rag: retrieve, query (JSON or server-sent events), and ingestion runs as jobs.

POST /api/rag/retrieve   {"collection", "query", "k"?, "filter"?}  -> {"chunks": [...]}
POST /api/rag/query      same, + "stream"?  -> {"answer", "citations", "chunks", ...}
POST /api/rag/ingest     {"collection", "path"?}  -> 202 {"id", "status"}  (admin)
GET  /api/rag/ingest[/{id}]                      the runs and their progress (admin)
GET  /api/rag/pipelines                          the configured pipelines (admin)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmdeck.errors import ApiError, NotFound
from llmdeck.gateway import Principal
from llmdeck.rag.service import RAG, RagService
from llmdeck.web import EventStream, json_response, read_model


class QueryBody(BaseModel):
    """POST /api/rag/retrieve and /api/rag/query."""

    model_config = ConfigDict(extra="forbid")

    collection: str = Field(min_length=1)
    query: str = Field(min_length=1)
    k: int | None = Field(default=None, ge=1, le=100)
    filter: dict[str, Any] | None = None
    stream: bool = False


class IngestBody(BaseModel):
    """POST /api/rag/ingest."""

    model_config = ConfigDict(extra="forbid")

    collection: str = Field(min_length=1)
    path: str | None = None


def _principal(request: Request) -> Principal:
    found = getattr(request.state, "principal", None)
    return found if isinstance(found, Principal) else RAG


def routes(rag: RagService) -> list[BaseRoute]:
    """Retrieval and query routes (for applications: any valid key)."""

    async def do_retrieve(request: Request) -> Response:
        body = await read_model(request, QueryBody)
        found = await rag.retrieve(
            body.collection, body.query, body.k, filter=body.filter, principal=_principal(request)
        )
        return json_response(
            {
                "chunks": [c.to_dict() for c in found.chunks],
                "degraded": found.degraded,
                "timings": found.timings,
                "mode": found.mode,
                "trace_id": found.trace_id,
            }
        )

    async def do_query(request: Request) -> Response:
        body = await read_model(request, QueryBody)
        principal = _principal(request)
        if body.stream:
            events = rag.stream(
                body.collection, body.query, body.k, filter=body.filter, principal=principal
            )
            first = await anext(events)  # errors before the stream starts get a status
            return EventStream(_sse(first, events))
        result = await rag.query(
            body.collection, body.query, body.k, filter=body.filter, principal=principal
        )
        headers = {"x-llmdeck-trace-id": result.retrieval.trace_id or ""}
        return json_response(result.to_dict(), headers=headers)

    return [
        Route("/api/rag/retrieve", do_retrieve, methods=["POST"]),
        Route("/api/rag/query", do_query, methods=["POST"]),
    ]


async def _sse(first: dict[str, Any], rest: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    yield b"data: " + orjson.dumps(first) + b"\n\n"
    try:
        async for event in rest:
            yield b"data: " + orjson.dumps(event) + b"\n\n"
    except ApiError as exc:  # the status is sent already: the error goes in the stream
        error = {"message": exc.message, "type": exc.type, "code": exc.code}
        yield b"data: " + orjson.dumps({"type": "error", "error": error}) + b"\n\n"
    yield b"data: [DONE]\n\n"


def admin_routes(rag: RagService) -> list[BaseRoute]:
    """Ingestion runs and pipelines (admin: they read the server's files)."""

    async def start_ingest(request: Request) -> Response:
        body = await read_model(request, IngestBody)
        run_id = await rag.enqueue(body.collection, body.path)
        found = await asyncio.to_thread(rag.runs.get, run_id)
        return json_response(found, 202, {"location": f"/api/rag/ingest/{run_id}"})

    async def list_ingests(request: Request) -> Response:
        collection = request.query_params.get("collection")
        runs = await asyncio.to_thread(rag.runs.recent, collection)
        return json_response({"runs": runs})

    async def get_ingest(request: Request) -> Response:
        run_id = request.path_params["id"]
        found = await asyncio.to_thread(rag.runs.get, run_id)
        if found is None:
            raise NotFound(f"ingestion run {run_id!r} not found", code="ingest_not_found")
        return json_response(found)

    async def pipelines(request: Request) -> Response:
        out = []
        for name, pipeline in rag.settings.rag.pipelines.items():
            collection = rag.collection_of(name)
            stats = await asyncio.to_thread(rag.documents.stats, collection)
            out.append(
                {
                    "name": name,
                    "collection": collection,
                    "source": pipeline.source,
                    "embedding": pipeline.embedding,
                    "answer": pipeline.answer,
                    "retrieval": pipeline.retrieval.model_dump(),
                    **stats,
                }
            )
        return json_response({"pipelines": out})

    return [
        Route("/api/rag/ingest", start_ingest, methods=["POST"]),
        Route("/api/rag/ingest", list_ingests, methods=["GET"]),
        Route("/api/rag/ingest/{id}", get_ingest, methods=["GET"]),
        Route("/api/rag/pipelines", pipelines, methods=["GET"]),
    ]
