"""The Gateway: the composition of the stages around the router, and the providers they use."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp

from llmdeck.config import ModelAlias, Settings
from llmdeck.errors import ConfigError, Forbidden, NotFound, Problem
from llmdeck.gateway.auth import Authenticator, KeyResolver
from llmdeck.gateway.call import Call, Kind, Principal, Reply, Shape
from llmdeck.gateway.limits import Controls
from llmdeck.gateway.pipeline import Stage, compose
from llmdeck.gateway.providers import Provider, ProviderContext, provider_factories
from llmdeck.gateway.router import Router, circuit_store, recorder_sink
from llmdeck.gateway.stages.cache import CacheStage, gateway_embed
from llmdeck.gateway.stages.cost import CostStage
from llmdeck.gateway.stages.guards import GuardStage, gateway_judge, guard_problems, local_embed
from llmdeck.gateway.stages.limits import LimitsStage
from llmdeck.gateway.stages.prompt import PromptStage
from llmdeck.gateway.stages.trace import TraceStage
from llmdeck.gateway.streams import estimated_usage, tracked
from llmdeck.gateway.wire.openai import (
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
)
from llmdeck.observe import Recorder
from llmdeck.prompts import Prompts


class Gateway:
    """Runs calls through auth -> stages -> router -> provider, and ends each call once."""

    def __init__(
        self,
        settings: Settings,
        recorder: Recorder,
        *,
        keys: KeyResolver | None = None,
        stages: Sequence[Stage] | None = None,
        prompts: Prompts | None = None,
        controls: Controls | None = None,
    ) -> None:
        self.settings = settings
        self.recorder = recorder
        self.controls = controls or Controls(settings, recorder.store)
        admin = settings.admin_key.get_secret_value() if settings.admin_key else None
        self.auth = Authenticator(admin, keys if keys is not None else self.controls.ring)
        prompt = [PromptStage(prompts, settings.alias)] if prompts is not None else []
        guards = GuardStage.from_settings(settings, local_embed(), gateway_judge(self))
        self.cache = CacheStage.from_settings(
            settings, gateway_embed(self), recorder.store, self.controls.state
        )
        self.stages: list[Stage] = (
            list(stages)
            if stages is not None
            # prompt before guards: the guards check the rendered messages
            else [
                TraceStage(recorder),
                LimitsStage(self.controls),
                *prompt,
                *([guards] if guards else []),
                *([self.cache] if self.cache else []),
                CostStage(self.controls),
            ]
        )
        self.renders_prompts = any(isinstance(s, PromptStage) for s in self.stages)
        self.interactive = 0  # calls in flight that are not batch lines (batches yield to them)
        self.providers: dict[str, Provider] = {}
        self.session: aiohttp.ClientSession | None = None
        self.router = Router(
            self.providers,
            settings,
            circuits=circuit_store(settings, self.controls.state),
            events=recorder_sink(recorder),
            embed=local_embed(),
            available=self.controls.deployment_available,
        )
        self._handler = compose(self.stages, self.router)

    async def start(self) -> None:
        """Open the HTTP pool and build one provider per deployment."""
        problems = provider_problems(self.settings)
        if problems:
            raise ConfigError(problems)
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60)
        self.session = aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent",))
        context = ProviderContext(session=self.session)
        factories = provider_factories()
        wrap = self.controls.deployments.wrap
        try:
            await self.controls.start()
            for alias in self.settings.models:
                for deployment in alias.deployments:
                    factory = factories[deployment.provider]
                    self.providers[deployment.name] = wrap(factory(deployment, context))
            if self.cache is not None:
                await self.cache.start()
        except BaseException:
            await self.close()
            raise
        await self.router.start()

    async def close(self) -> None:
        """Stop the router's health checks, settle what is in flight, close the controls, the
        cache and the HTTP pool."""
        await self.router.close()
        await self.controls.close()
        if self.cache is not None:
            await self.cache.close()
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def open_call(
        self,
        kind: Kind,
        request: ChatRequest | EmbeddingRequest,
        *,
        api_key: str | None,
        shape: Shape = "openai",
    ) -> Call:
        """Authenticate, then find the model alias: a Call ready for `handle`."""
        principal = await self.auth.authenticate(api_key)
        return self.new_call(kind, request, principal, shape=shape)

    def new_call(
        self,
        kind: Kind,
        request: ChatRequest | EmbeddingRequest,
        principal: Principal,
        *,
        shape: Shape = "openai",
    ) -> Call:
        """A Call for an authenticated principal (404 unknown alias, 403 alias not allowed)."""
        alias = self.settings.alias(request.model)
        if alias is None and self.renders_prompts and _names_its_prompt(request):
            # `model` names the prompt: the prompt stage puts (and checks) the version's model
            alias = ModelAlias.model_construct(name=request.model, deployments=(), tiers=None)
            return Call(kind=kind, request=request, alias=alias, principal=principal, shape=shape)
        if alias is None:
            known = ", ".join(m.name for m in self.settings.models if m.deployments or m.tiers)
            raise NotFound(
                f"model {request.model!r} not found; known models: {known}",
                code="model_not_found",
                param="model",
            )
        if not principal.may_use(alias.name):
            raise Forbidden(f"this key may not use model {alias.name!r}", code="model_not_allowed")
        return Call(kind=kind, request=request, alias=alias, principal=principal, shape=shape)

    async def handle(self, call: Call) -> Reply:
        """Run the call. A complete reply has ended the call; a stream ends it when done."""
        if "batch_id" not in call.attributes:
            self.interactive += 1
            call.on_end(self._leave)
        try:
            reply = await self._handler(call)
        except BaseException as exc:
            call.end(exc)
            raise
        if isinstance(reply, ChatResponse | EmbeddingResponse):
            call.response = reply
            if call.usage is None:
                usage = reply.usage
                if isinstance(reply, ChatResponse) and usage is None:
                    usage = estimated_usage(call.chat, reply)
                call.usage = usage
            call.end()
            return reply
        return tracked(call, reply)

    def _leave(self, call: Call) -> None:
        self.interactive -= 1


def _names_its_prompt(request: ChatRequest | EmbeddingRequest) -> bool:
    prompt = getattr(request, "prompt", None)
    return prompt is not None and request.model == prompt.name


def config_problems(settings: Settings) -> list[Problem]:
    """What the gateway cannot run that the settings' schema accepts: unknown providers, guard
    options its detectors refuse. Each problem names its config path."""
    return provider_problems(settings) + guard_problems(settings)


def provider_problems(settings: Settings) -> list[Problem]:
    """Deployments whose provider is not registered, named by their config path."""
    factories = provider_factories()
    problems = []
    for index, alias in enumerate(settings.models):
        for position, deployment in enumerate(alias.deployments):
            if deployment.provider not in factories:
                path = f"models[{index}].deployments[{position}].provider"
                known = ", ".join(sorted(factories))
                message = f"unknown provider {deployment.provider!r}; known: {known}"
                problems.append(Problem(path, message, settings.source))
    return problems
