"""The prompt stage: `prompt: {name, label | version, variables}` in a chat request becomes the
rendered messages of a registered prompt version.

Messages: the rendered prompt's messages first, then any messages the client sent (a chat
history or the user's turn). Parameters: the request's own win; the version's fill in the rest.
Model: the request's `model` when it names a configured alias; when it names the prompt itself
(`model="support-answer"`), the version's `model` alias. The chosen version goes on the Call
(`prompt_name`, `prompt_version`) so every span says which version answered.

A request without `prompt` costs one attribute check.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError

from llmdeck.config import ModelAlias
from llmdeck.errors import BadRequest, Forbidden, NotFound
from llmdeck.gateway.call import Call, Reply
from llmdeck.gateway.pipeline import Next
from llmdeck.gateway.wire.openai import ChatRequest
from llmdeck.prompts import Prompts, RenderedPrompt
from llmdeck.web import bad_request


class PromptStage:
    """Resolves, renders and merges a registered prompt into the request."""

    def __init__(self, prompts: Prompts, aliases: Callable[[str], ModelAlias | None]) -> None:
        self.prompts = prompts
        self.aliases = aliases

    async def __call__(self, call: Call, next: Next) -> Reply:
        request = call.request
        if not isinstance(request, ChatRequest) or request.prompt is None:
            return await next(call)
        ref = request.prompt
        call.prompt_name = ref.name
        found = await self.prompts.resolve(
            ref.name, label=ref.label, version=ref.version, user=request.user
        )
        call.prompt_version = found.version.version
        if found.label is not None:
            call.attributes["prompt_label"] = found.label
        rendered = self.prompts.render(found, ref.variables)
        model = None
        if self.aliases(request.model) is None:  # `model` names the prompt: the version's model
            call.alias = self._alias_of(call, rendered)
            model = call.alias.name
        call.request = merge(request, rendered, model)
        return await next(call)

    def _alias_of(self, call: Call, rendered: RenderedPrompt) -> ModelAlias:
        if not rendered.model:
            raise BadRequest(
                f"prompt {rendered.name!r} v{rendered.version} names no model; "
                "set `model` in the request to a model alias",
                param="model",
            )
        alias = self.aliases(rendered.model)
        if alias is None:
            raise NotFound(
                f"prompt {rendered.name!r} v{rendered.version} uses model {rendered.model!r}, "
                "which is not configured",
                code="model_not_found",
                param="model",
            )
        if not call.principal.may_use(alias.name):
            raise Forbidden(f"this key may not use model {alias.name!r}", code="model_not_allowed")
        return alias


def merge(request: ChatRequest, rendered: RenderedPrompt, model: str | None) -> ChatRequest:
    """The request with the prompt's messages first and its parameters where the request has
    none of its own."""
    data = request.model_dump(exclude_unset=True)
    data["messages"] = [*rendered.messages, *data.get("messages", [])]
    for key, value in rendered.params.items():
        data.setdefault(key, value)
    if model is not None:
        data["model"] = model
    try:
        return ChatRequest.model_validate(data)
    except ValidationError as exc:
        raise bad_request(exc) from None
