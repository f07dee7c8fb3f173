"""The OpenAI Files and Batch APIs: /v1/files and /v1/batches, as the official SDKs call them.

Files and batches belong to the key that made them; the admin key sees everyone's.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmdeck.errors import BadRequest, PayloadTooLarge
from llmdeck.gateway.auth import bearer
from llmdeck.gateway.batch.batches import (
    WINDOWS,
    Batches,
    new_batch_id,
    owner_of,
    principal_json,
)
from llmdeck.gateway.batch.files import Files
from llmdeck.gateway.batch.ingest import ENDPOINTS
from llmdeck.gateway.call import Principal
from llmdeck.web import json_response, read_model

if TYPE_CHECKING:
    from llmdeck.gateway.batch.runner import BatchRunner
    from llmdeck.gateway.gateway import Gateway

PURPOSES = ("batch",)


class CreateBatch(BaseModel):
    """POST /v1/batches."""

    model_config = ConfigDict(extra="forbid")

    input_file_id: str = Field(min_length=1)
    endpoint: str
    completion_window: Literal["24h"] = "24h"
    metadata: dict[str, str] | None = Field(default=None, max_length=16)
    output_expires_after: dict[str, Any] | None = None


Who = Callable[[Request], Awaitable[tuple[Principal, str | None]]]
Table = list[tuple[str, Callable[[Request], Awaitable[Response]], str]]


def routes(gateway: Gateway, runner: BatchRunner) -> list[BaseRoute]:
    """The Files and Batch routes (also without the /v1 prefix, like the gateway's)."""

    async def who(request: Request) -> tuple[Principal, str | None]:
        principal = await gateway.auth.authenticate(bearer(request.headers.get("authorization")))
        return principal, None if principal.admin else owner_of(principal)

    table = _file_routes(gateway, who) + _batch_routes(gateway, runner, who)
    return [
        Route(prefix + path, fn, methods=[method])
        for prefix in ("/v1", "")
        for path, fn, method in table
    ]


def _file_routes(gateway: Gateway, who: Who) -> Table:
    files = Files(gateway.recorder.store)
    limits = gateway.settings.batch

    async def upload(request: Request) -> Response:
        principal, _ = await who(request)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limits.max_file_bytes + 65536:
            raise PayloadTooLarge(f"the file is over the limit of {limits.max_file_bytes} bytes")
        filename, purpose, content = await _read_upload(request, limits.max_file_bytes)
        info = await files.create(owner_of(principal), purpose, filename, content)
        return json_response(info.openai())

    async def list_files(request: Request) -> Response:
        _, owner = await who(request)
        params = request.query_params
        order = params.get("order", "desc")
        if order not in ("asc", "desc"):
            raise BadRequest("order: must be asc or desc", param="order")
        limit = _limit(params.get("limit"), 10_000)
        found, more = await files.list(
            owner, params.get("purpose"), limit, params.get("after"), order
        )
        return json_response(_page([f.openai() for f in found], more))

    async def get_file(request: Request) -> Response:
        _, owner = await who(request)
        info = await files.get(request.path_params["file_id"], owner)
        return json_response(info.openai())

    async def file_content(request: Request) -> Response:
        _, owner = await who(request)
        info, content = await files.content(request.path_params["file_id"], owner)
        disposition = f'attachment; filename="{info.filename}"'
        return Response(
            content,
            media_type="application/jsonl",
            headers={"content-disposition": disposition},
        )

    async def delete_file(request: Request) -> Response:
        _, owner = await who(request)
        file_id = request.path_params["file_id"]
        await files.delete(file_id, owner)
        return json_response({"id": file_id, "object": "file", "deleted": True})

    return [
        ("/files", upload, "POST"),
        ("/files", list_files, "GET"),
        ("/files/{file_id}", get_file, "GET"),
        ("/files/{file_id}", delete_file, "DELETE"),
        ("/files/{file_id}/content", file_content, "GET"),
    ]


def _batch_routes(gateway: Gateway, runner: BatchRunner, who: Who) -> Table:
    store = gateway.recorder.store
    files, batches = Files(store), Batches(store)

    async def create_batch(request: Request) -> Response:
        principal, owner = await who(request)
        body = await read_model(request, CreateBatch)
        if body.endpoint not in ENDPOINTS:
            known = ", ".join(ENDPOINTS)
            raise BadRequest(
                f"endpoint: {body.endpoint!r} is not supported; use {known}", param="endpoint"
            )
        source = await files.get(body.input_file_id, owner)
        if source.purpose != "batch":
            message = f"input_file_id: file {source.id} has purpose {source.purpose!r}, not 'batch'"
            raise BadRequest(message, param="input_file_id")
        now = time.time()
        row = {
            "id": new_batch_id(),
            "owner": owner_of(principal),
            "principal": principal_json(principal),
            "endpoint": body.endpoint,
            "input_file_id": source.id,
            "completion_window": body.completion_window,
            "status": "validating",
            "metadata": body.metadata,
            "created_at": now,
            "expires_at": now + WINDOWS[body.completion_window],
        }
        created = await batches.create(row)
        await runner.submitted(str(row["id"]))
        return json_response(created)

    async def list_batches(request: Request) -> Response:
        _, owner = await who(request)
        limit = _limit(request.query_params.get("limit"), 100)
        found, more = await batches.list(owner, limit, request.query_params.get("after"))
        return json_response(_page(found, more))

    async def get_batch(request: Request) -> Response:
        _, owner = await who(request)
        return json_response(await batches.get(request.path_params["batch_id"], owner))

    async def cancel_batch(request: Request) -> Response:
        _, owner = await who(request)
        cancelled = await batches.cancel(request.path_params["batch_id"], owner)
        await runner.cancelled(cancelled["id"])
        return json_response(cancelled)

    return [
        ("/batches", create_batch, "POST"),
        ("/batches", list_batches, "GET"),
        ("/batches/{batch_id}", get_batch, "GET"),
        ("/batches/{batch_id}/cancel", cancel_batch, "POST"),
    ]


async def _read_upload(request: Request, limit: int) -> tuple[str, str, bytes]:
    """The multipart form the SDKs send: a `file` part and a `purpose` field."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadRequest("send the file as multipart/form-data with fields file and purpose")
    async with request.form(max_files=1, max_fields=8) as form:
        purpose = form.get("purpose")
        upload = form.get("file")
        if not isinstance(purpose, str) or purpose not in PURPOSES:
            raise BadRequest(
                f"purpose: must be one of {', '.join(PURPOSES)}, not {purpose!r}",
                param="purpose",
            )
        if not isinstance(upload, UploadFile):
            raise BadRequest("file: is required (a multipart file part)", param="file")
        content = await upload.read(limit + 1)
        if len(content) > limit:
            raise PayloadTooLarge(f"the file is over the limit of {limit} bytes")
        try:
            content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadRequest("file: must be UTF-8 JSONL", param="file") from None
        return upload.filename or "upload.jsonl", purpose, content


def _limit(raw: str | None, most: int) -> int:
    if raw is None:
        return 20
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise BadRequest(f"limit: must be a whole number from 1 to {most}", param="limit")
    return int(raw)


def _page(data: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": more,
    }
