"""What every capability's HTTP routes share: reading a JSON body into a model with errors that
name the field, JSON responses, and event streams. (The error bodies themselves are made in
server/errors.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from llmdeck.config import format_loc
from llmdeck.errors import BadRequest, PayloadTooLarge

M = TypeVar("M", bound=BaseModel)
DEFAULT_LIMIT = 10 * 1024 * 1024


async def read_body(request: Request, limit: int = DEFAULT_LIMIT) -> bytes:
    """The raw body, refusing more than `limit` bytes (413) before reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"request body is over the limit of {limit} bytes")
    return bytes(body)


def parse_model(model: type[M], raw: bytes | str | dict[str, Any]) -> M:
    """Validate `raw` (JSON text or a dict) as `model`; BadRequest names the first bad field."""
    try:
        if isinstance(raw, dict):
            return model.model_validate(raw)
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise bad_request(exc) from None


def bad_request(exc: ValidationError) -> BadRequest:
    """A BadRequest describing the first validation error, naming its field."""
    error = exc.errors()[0]
    if error["type"] == "json_invalid":
        return BadRequest(f"invalid JSON body: {error['msg'].removeprefix('Invalid JSON: ')}")
    if error["type"] == "model_type" and not error["loc"]:
        return BadRequest("the request body must be a JSON object")
    where = format_loc(tuple(p for p in error["loc"] if not str(p).startswith("function-")))
    message = {"missing": "is required", "extra_forbidden": "is not a known field"}.get(
        error["type"], error["msg"].removeprefix("Value error, ")
    )
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return BadRequest(f"{where}: {message}{more}", param=where or None, code="invalid_field")


async def read_model(request: Request, model: type[M], limit: int = DEFAULT_LIMIT) -> M:
    """Read and validate the JSON body as `model`."""
    return parse_model(model, await read_body(request, limit))


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson (models, dataclasses, datetimes welcome)."""
    if isinstance(content, BaseModel):
        body = content.model_dump_json(exclude_none=True).encode()
    else:
        body = orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)
    return Response(body, status_code, headers, media_type="application/json")


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class EventStream(Response):
    """A streamed response (server-sent events by default) that sends, in one write, every piece
    its source has produced since the last write, and stops its source when the client leaves.

    The source runs in a task of its own and hands pieces over; so when several upstream chunks
    arrive together they leave together (one syscall, not one each), while a piece that arrives
    alone still goes out at once. A source running far ahead of a slow client waits once
    `high_water` bytes are pending. Replaces Starlette's StreamingResponse on the hot path: same
    headers and behaviour, without its task group per response.
    """

    media_type = "text/event-stream"
    high_water = 1 << 20

    def __init__(
        self, content: AsyncIterator[bytes], headers: Mapping[str, str] | None = None
    ) -> None:
        self.status_code = 200
        self.background = None
        self.body_iterator = content
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pipe = _Pipe(self.high_water)
        source = asyncio.create_task(self._produce(pipe))
        watcher = asyncio.create_task(_watch_disconnect(receive, source, pipe))
        try:
            start = {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
            await send(start)
            finished = False
            while not finished:
                body, finished = await pipe.take()
                await send({"type": "http.response.body", "body": body, "more_body": not finished})
        finally:
            watcher.cancel()
            source.cancel()
            await asyncio.wait([source])
        if pipe.error is not None and not pipe.disconnected:
            raise pipe.error

    async def _produce(self, pipe: _Pipe) -> None:
        try:
            async for piece in self.body_iterator:
                await pipe.put(piece)
        except BaseException as exc:  # noqa: BLE001 - the writer raises it, unless the client left
            pipe.error = exc
        finally:
            pipe.close()


async def _watch_disconnect(receive: Receive, source: asyncio.Task[None], pipe: _Pipe) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    pipe.disconnected = True
    source.cancel()


class _Pipe:
    """Pieces from the source task to the writer; the writer takes all that is there."""

    def __init__(self, high_water: int) -> None:
        self.pieces: list[bytes] = []
        self.size = 0
        self.high_water = high_water
        self.done = False
        self.disconnected = False
        self.error: BaseException | None = None
        self._ready: asyncio.Future[None] | None = None
        self._room: asyncio.Future[None] | None = None

    async def put(self, piece: bytes) -> None:
        self.pieces.append(piece)
        self.size += len(piece)
        _wake(self._ready)
        if self.size > self.high_water:
            self._room = asyncio.get_running_loop().create_future()
            await self._room

    def close(self) -> None:
        self.done = True
        _wake(self._ready)

    async def take(self) -> tuple[bytes, bool]:
        """Everything put so far (waiting for something if there is nothing), and whether the
        source has finished."""
        while not self.pieces and not self.done:
            self._ready = asyncio.get_running_loop().create_future()
            await self._ready
        body = b"".join(self.pieces)
        self.pieces.clear()
        self.size = 0
        _wake(self._room)
        return body, self.done


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)
