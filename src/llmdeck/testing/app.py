"""The aiohttp application: routes, and the one path every request takes through the knobs.

Every request is read, given its knobs (the current ones, or those with the request's
`x-fake-behaviour` header laid over them), planned, logged and counted; then it waits `latency`,
and gets what the plan says: an answer, an error, a hang, a dropped connection or a cut stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from aiohttp import web

from llmdeck.testing import fake_anthropic, fake_openai
from llmdeck.testing.control import Control
from llmdeck.testing.knobs import BEHAVIOUR_HEADER, Behaviour, Plan
from llmdeck.testing.reply import Prompt, Reply, Sse, make_reply

JSON = "application/json"
_SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Check = Callable[[dict[str, Any]], str | None]


class ChatWire(Protocol):
    """One provider's chat protocol, as the server needs it."""

    request_id_header: str

    def problem(self, body: dict[str, Any]) -> str | None: ...
    def prompt(self, body: dict[str, Any]) -> Prompt: ...
    def response(self, body: dict[str, Any], reply: Reply, created: int) -> bytes: ...
    def stream(self, body: dict[str, Any], reply: Reply, created: int, chunks: int) -> Sse: ...
    def error(self, status: int, message: str | None = None) -> bytes: ...
    def error_event(self) -> bytes: ...
    def auth_problem(self, headers: Mapping[str, str], api_key: str) -> tuple[int, str] | None: ...


_OPENAI: ChatWire = fake_openai.OpenAIChat()
_ANTHROPIC: ChatWire = fake_anthropic.AnthropicMessages()


@dataclass(frozen=True, slots=True)
class _Call:
    """One admitted request: its body, knobs, plan and serial number."""

    body: Any
    behaviour: Behaviour
    plan: Plan
    serial: int
    stream: bool
    message: str | None = None


class FakeApp:
    """The request handlers over one `Control`; `closing` ends every hang when it is set."""

    def __init__(self, control: Control, closing: asyncio.Event) -> None:
        self.control = control
        self.closing = closing

    def build(self) -> web.Application:
        """The aiohttp application with every route."""
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat(_OPENAI))
        app.router.add_post("/v1/messages", self._chat(_ANTHROPIC))
        app.router.add_post("/v1/embeddings", self.embeddings)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/_fake/behaviour", self.get_behaviour)
        app.router.add_post("/_fake/behaviour", self.set_behaviour)
        app.router.add_post("/_fake/reset", self.reset)
        app.router.add_get("/_fake/counts", self.counts)
        app.router.add_post("/_fake/clear", self.clear)
        app.router.add_route("*", "/{tail:.*}", self.not_found)
        return app

    def _chat(self, wire: ChatWire) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.chat(request, wire)

        return handle

    async def _admit(self, request: web.Request, wire: ChatWire, check: Check | None) -> _Call:
        """Read, plan, log and count a request. A bad one is planned as the provider's 400, and
        one without the `api_key` the knobs require as its 401."""
        raw = await request.read()
        behaviour, problem = self._knobs(request)
        status = 400
        if problem is None and behaviour.api_key is not None:
            denied = wire.auth_problem(request.headers, behaviour.api_key)
            if denied is not None:
                status, problem = denied
        body, body_problem = _parse(raw, check)
        problem = problem or body_problem
        stream = isinstance(body, dict) and body.get("stream") is True
        plan, serial = self.control.decide(behaviour, stream)
        if problem is not None:
            plan = Plan("error", status)
        self._record(request, body, plan)
        return _Call(body, behaviour, plan, serial, stream, problem)

    def _knobs(self, request: web.Request) -> tuple[Behaviour, str | None]:
        behaviour = self.control.behaviour
        header = request.headers.get(BEHAVIOUR_HEADER)
        if header is None:
            return behaviour, None
        try:
            return behaviour.merged_json(header), None
        except ValueError as err:
            return behaviour, f"{BEHAVIOUR_HEADER}: {err}"

    def _record(self, request: web.Request, body: Any, plan: Plan) -> None:
        self.control.record(request.method, request.path, request.headers, body, plan.label)

    async def _settle(
        self, request: web.Request, call: _Call, wire: ChatWire
    ) -> web.StreamResponse | None:
        """Wait `latency`, then answer a failure; `None` when the request is to be answered."""
        if call.behaviour.latency:
            await asyncio.sleep(call.behaviour.latency)
        outcome = call.plan.outcome
        if outcome == "error":
            return _error(wire, call.plan, call.message)
        if outcome == "hang":
            await self.closing.wait()
            return _drop(request)
        if outcome == "drop":
            return _drop(request)
        return None

    async def chat(self, request: web.Request, wire: ChatWire) -> web.StreamResponse:
        """`POST /v1/chat/completions` and `POST /v1/messages`."""
        call = await self._admit(request, wire, wire.problem)
        if (failed := await self._settle(request, call, wire)) is not None:
            return failed
        body, behaviour = call.body, call.behaviour
        reply = make_reply(wire.prompt(body), behaviour, call.serial)
        headers = {wire.request_id_header: f"req_fake{call.serial:012d}"}
        created = int(time.time())
        if call.stream:
            sse = wire.stream(body, reply, created, behaviour.chunks)
            return await _send_stream(request, sse, call, wire, headers)
        payload = wire.response(body, reply, created)
        if call.plan.outcome == "cut":
            return await _cut_body(request, payload, headers)
        return web.Response(body=payload, content_type=JSON, headers=headers)

    async def embeddings(self, request: web.Request) -> web.StreamResponse:
        """`POST /v1/embeddings`."""
        call = await self._admit(request, _OPENAI, fake_openai.embeddings_problem)
        if (failed := await self._settle(request, call, _OPENAI)) is not None:
            return failed
        usage = call.behaviour.usage.input_tokens
        payload = fake_openai.embeddings_body(call.body, call.behaviour.embedding_dim, usage)
        if call.plan.outcome == "cut":
            return await _cut_body(request, payload, {})
        return web.Response(body=payload, content_type=JSON)

    async def models(self, request: web.Request) -> web.StreamResponse:
        """`GET /v1/models`, in Anthropic's shape when the request has `anthropic-version`."""
        anthropic = "anthropic-version" in request.headers
        wire = _ANTHROPIC if anthropic else _OPENAI
        call = await self._admit(request, wire, None)
        if (failed := await self._settle(request, call, wire)) is not None:
            return failed
        shape = fake_anthropic.models_body if anthropic else fake_openai.models_body
        return web.Response(body=shape(call.behaviour.models), content_type=JSON)

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        """Any other route: OpenAI's 404."""
        await request.read()
        self._record(request, None, Plan("error", 404))
        body = fake_openai.route_not_found(request.method, request.path)
        return web.Response(status=404, body=body, content_type=JSON)

    async def get_behaviour(self, request: web.Request) -> web.StreamResponse:
        """`GET /_fake/behaviour`: the knobs in force."""
        return web.Response(body=self.control.behaviour.model_dump_json(), content_type=JSON)

    async def set_behaviour(self, request: web.Request) -> web.StreamResponse:
        """`POST /_fake/behaviour`: lay a JSON object of knobs over the current ones."""
        try:
            changes = orjson.loads(await request.read())
            if not isinstance(changes, dict):
                raise ValueError("must be a JSON object of knobs")
            behaviour = self.control.set(None, changes)
        except (ValueError, orjson.JSONDecodeError) as err:
            return _error(_OPENAI, Plan("error", 400), str(err))
        return web.Response(body=behaviour.model_dump_json(), content_type=JSON)

    async def reset(self, request: web.Request) -> web.StreamResponse:
        """`POST /_fake/reset`: back to the knobs the fake started with."""
        self.control.reset()
        return await self.get_behaviour(request)

    async def counts(self, request: web.Request) -> web.StreamResponse:
        """`GET /_fake/counts`: requests by outcome, and "total"."""
        return web.Response(body=orjson.dumps(self.control.counts), content_type=JSON)

    async def clear(self, request: web.Request) -> web.StreamResponse:
        """`POST /_fake/clear`: empty the log and zero the counts."""
        self.control.clear()
        return web.Response(body=b"{}", content_type=JSON)


def _parse(raw: bytes, check: Check | None) -> tuple[Any, str | None]:
    """The JSON body and what is wrong with it, if anything."""
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as err:
        return None, f"The request body is not valid JSON: {err}"
    if check is None:
        return body, None
    if not isinstance(body, dict):
        return body, "The request body must be a JSON object."
    return body, check(body)


def _error(wire: ChatWire, plan: Plan, message: str | None) -> web.Response:
    headers = {}
    if plan.retry_after is not None:
        headers["Retry-After"] = f"{plan.retry_after:g}"
    body = wire.error(plan.status, message)
    return web.Response(status=plan.status, body=body, content_type=JSON, headers=headers)


def _drop(request: web.Request) -> web.Response:
    """Close the connection; aiohttp then has nowhere to write the (empty) response."""
    if request.transport is not None:
        request.transport.close()
    return web.Response()


async def _cut_body(
    request: web.Request, payload: bytes, headers: dict[str, str]
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": JSON, **headers})
    response.content_length = len(payload)
    await response.prepare(request)
    await response.write(payload[: len(payload) // 2])
    return _drop(request)


async def _send_stream(
    request: web.Request, sse: Sse, call: _Call, wire: ChatWire, headers: dict[str, str]
) -> web.StreamResponse:
    """Send the events with the knobs' timing, cut or broken off by an error event if planned."""
    response = web.StreamResponse(headers={**_SSE_HEADERS, **headers})
    await response.prepare(request)
    outcome, behaviour = call.plan.outcome, call.behaviour
    deltas = sse.deltas if outcome == "ok" else sse.deltas[: call.plan.cut_after]
    ending = (
        sse.tail if outcome == "ok" else [wire.error_event()] if outcome == "error_event" else []
    )
    if not behaviour.ttft and not behaviour.chunk_interval:
        await response.write(b"".join([*sse.head, *deltas, *ending]))
    else:
        await response.write(b"".join(sse.head))
        for index, delta in enumerate(deltas):
            await asyncio.sleep(behaviour.chunk_interval if index else behaviour.ttft)
            await response.write(delta)
        if ending:
            await response.write(b"".join(ending))
    if outcome == "cut":
        return _drop(request)
    await response.write_eof()
    return response
