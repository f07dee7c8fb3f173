"""/api/prompts: the registry over HTTP. Reading needs any valid key; changing anything needs
the admin key (with no keys configured, the loopback-only server lets everyone in)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmdeck.errors import BadRequest, Forbidden
from llmdeck.prompts.model import CanaryPlan, PromptSpec, Target
from llmdeck.prompts.service import Actor, Prompts, PushResult
from llmdeck.web import json_response, read_model

Authenticate = Callable[[Request], Awaitable[Actor]]
"""Who sent the request (raises Unauthorized); injected by the server from the gateway's auth."""


class LabelMove(BaseModel):
    """PUT /api/prompts/{name}/labels/{label}: one version, a weighted split, or a canary."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = None
    targets: list[Target] | None = None
    canary: CanaryPlan | None = None
    reason: str | None = None

    @model_validator(mode="after")
    def _one(self) -> LabelMove:
        given = [x for x in (self.version, self.targets, self.canary) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of version, targets or canary")
        return self


class RenderRequest(BaseModel):
    """POST /api/prompts/{name}/render: a preview of what the gateway would send."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = None
    version: int | None = None
    user: str | None = None
    variables: dict[str, Any] = Field(default_factory=dict)


def push_body(result: PushResult) -> dict[str, Any]:
    """The JSON answer to a push."""
    return {
        "version": result.version.model_dump(mode="json"),
        "created": result.created,
        "labels": [change.__dict__ for change in result.labels],
    }


class _Handlers:
    def __init__(self, prompts: Prompts, authenticate: Authenticate) -> None:
        self.prompts = prompts
        self.authenticate = authenticate

    async def admin(self, request: Request) -> Actor:
        actor = await self.authenticate(request)
        if not actor.admin:
            raise Forbidden("changing prompts needs the admin key", code="admin_required")
        return actor

    async def list_prompts(self, request: Request) -> Response:
        await self.authenticate(request)
        return json_response({"prompts": await self.prompts.list_prompts()})

    async def create(self, request: Request) -> Response:
        actor = await self.admin(request)
        result = await self.prompts.push(await read_model(request, PromptSpec), actor)
        return json_response(push_body(result), 201 if result.created else 200)

    async def show(self, request: Request) -> Response:
        await self.authenticate(request)
        return json_response(await self.prompts.prompt(request.path_params["name"]))

    async def versions(self, request: Request) -> Response:
        await self.authenticate(request)
        found = await self.prompts.versions(request.path_params["name"])
        return json_response({"versions": found})

    async def version(self, request: Request) -> Response:
        await self.authenticate(request)
        params = request.path_params
        return json_response(await self.prompts.lookup(params["name"], params["version"]))

    async def label(self, request: Request) -> Response:
        await self.authenticate(request)
        name, label = request.path_params["name"], request.path_params["label"]
        state = await self.prompts.label(name, label)
        found = [await self.prompts.version(name, t.version) for t in state.targets]
        return json_response({**state.model_dump(mode="json"), "versions": found})

    async def move(self, request: Request) -> Response:
        actor = await self.admin(request)
        name, label = request.path_params["name"], request.path_params["label"]
        body = await read_model(request, LabelMove)
        if body.canary is not None:
            state = await self.prompts.start_canary(name, label, body.canary, actor)
        elif body.targets is not None:
            state = await self.prompts.set_targets(
                name, label, body.targets, actor, reason=body.reason
            )
        else:
            assert body.version is not None
            state = await self.prompts.move(name, label, body.version, actor, reason=body.reason)
        return json_response(state)

    async def rollback(self, request: Request) -> Response:
        actor = await self.admin(request)
        params = request.path_params
        return json_response(await self.prompts.rollback(params["name"], params["label"], actor))

    async def history(self, request: Request) -> Response:
        await self.authenticate(request)
        name = request.path_params["name"]
        events = await self.prompts.history(name, request.query_params.get("label"))
        return json_response({"events": events})

    async def diff(self, request: Request) -> Response:
        await self.authenticate(request)
        query = request.query_params
        if "a" not in query or "b" not in query:
            raise BadRequest("give the two versions to compare as ?a=...&b=...", param="a")
        result = await self.prompts.diff(request.path_params["name"], query["a"], query["b"])
        return json_response({**result.model_dump(mode="json"), "text": result.text()})

    async def render(self, request: Request) -> Response:
        await self.authenticate(request)
        body = await read_model(request, RenderRequest)
        found = await self.prompts.resolve(
            request.path_params["name"], label=body.label, version=body.version, user=body.user
        )
        return json_response(self.prompts.render(found, body.variables))


def routes(prompts: Prompts, authenticate: Authenticate) -> list[BaseRoute]:
    """The /api/prompts routes."""
    h = _Handlers(prompts, authenticate)
    base = "/api/prompts"
    return [
        Route(base, h.list_prompts, methods=["GET"]),
        Route(base, h.create, methods=["POST"]),
        Route(base + "/{name}", h.show, methods=["GET"]),
        Route(base + "/{name}/versions", h.versions, methods=["GET"]),
        Route(base + "/{name}/versions/{version}", h.version, methods=["GET"]),
        Route(base + "/{name}/labels/{label}", h.label, methods=["GET"]),
        Route(base + "/{name}/labels/{label}", h.move, methods=["PUT"]),
        Route(base + "/{name}/labels/{label}/rollback", h.rollback, methods=["POST"]),
        Route(base + "/{name}/history", h.history, methods=["GET"]),
        Route(base + "/{name}/diff", h.diff, methods=["GET"]),
        Route(base + "/{name}/render", h.render, methods=["POST"]),
    ]
