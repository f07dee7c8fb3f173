"""The prompt registry in the Python SDK: `client.prompts`.

`get(name, label=...)` answers from a local cache (`cache_ttl` seconds) and, when the server
cannot be reached or fails, from the last copy it had (stale-if-error), so an application keeps
working while the server is down. Labels that split traffic are resolved locally, sticky by
`user`, exactly as the gateway does. The returned `PromptVersion` renders locally in the same
sandbox: `client.prompts.get("support-answer").render({"question": "..."})`.
"""

from __future__ import annotations

import builtins
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from llmdeck.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    LlmdeckError,
    NotFound,
    Unauthorized,
)
from llmdeck.prompts.canary import choose
from llmdeck.prompts.diff import VersionDiff
from llmdeck.prompts.model import (
    CanaryPlan,
    LabelEvent,
    LabelState,
    Prompt,
    PromptSpec,
    PromptVersion,
    RenderedPrompt,
    Target,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_LABEL = "production"
_ERRORS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
}


class ServerUnavailable(LlmdeckError):
    """The llmdeck server could not be reached, or failed (5xx)."""


@dataclass(frozen=True)
class _Op(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    json: Any = None
    params: dict[str, str] | None = None


@dataclass(frozen=True)
class _Entry:
    fetched: float
    state: LabelState | None
    versions: dict[int, PromptVersion]

    def pick(self, user: str | None) -> PromptVersion:
        if self.state is None:
            return next(iter(self.versions.values()))
        chosen = choose(self.state.name, self.state.label, self.state.targets, user)
        return self.versions[chosen]


def _path(*parts: str | int) -> str:
    return "/api/prompts/" + "/".join(quote(str(p), safe="") for p in parts)


def _label_entry(data: Any) -> _Entry:
    versions = {v["version"]: PromptVersion.model_validate(v) for v in data.pop("versions")}
    return _Entry(time.monotonic(), LabelState.model_validate(data), versions)


def _version_entry(data: Any) -> _Entry:
    found = PromptVersion.model_validate(data)
    return _Entry(time.monotonic(), None, {found.version: found})


def _get_op(name: str, label: str | None, version: int | None) -> _Op[_Entry]:
    if version is not None:
        return _Op("GET", _path(name, "versions", version), _version_entry)
    return _Op("GET", _path(name, "labels", label or DEFAULT_LABEL), _label_entry)


def _check(response: httpx.Response) -> Any:
    if response.status_code < 400:
        return response.json()
    message, code, param = _error(response)
    if response.status_code >= 500:
        raise ServerUnavailable(f"llmdeck answered {response.status_code}: {message}")
    error = _ERRORS.get(response.status_code, ApiError)(message, code=code, param=param)
    error.status = response.status_code
    raise error


def _error(response: httpx.Response) -> tuple[str, str | None, str | None]:
    """The server's error body: message, code, param."""
    try:
        error = response.json()["error"]
        return str(error["message"]), error.get("code"), error.get("param")
    except (ValueError, KeyError, TypeError, AttributeError):
        return response.text[:200] or response.reason_phrase, None, None


def _unavailable(exc: httpx.TransportError, base: httpx.URL) -> ServerUnavailable:
    return ServerUnavailable(f"cannot reach llmdeck at {base}: {exc or type(exc).__name__}")


class _Ops:
    """The requests behind each method, shared by the sync and async clients."""

    @staticmethod
    def list() -> _Op[builtins.list[Prompt]]:
        return _Op(
            "GET", "/api/prompts", lambda d: [Prompt.model_validate(p) for p in d["prompts"]]
        )

    @staticmethod
    def versions(name: str) -> _Op[builtins.list[PromptVersion]]:
        parse = lambda d: [PromptVersion.model_validate(v) for v in d["versions"]]  # noqa: E731
        return _Op("GET", _path(name, "versions"), parse)

    @staticmethod
    def version(name: str, ref: str | int) -> _Op[PromptVersion]:
        return _Op("GET", _path(name, "versions", ref), PromptVersion.model_validate)

    @staticmethod
    def push(spec: PromptSpec | dict[str, Any]) -> _Op[dict[str, Any]]:
        body = spec.model_dump(mode="json") if isinstance(spec, PromptSpec) else spec
        return _Op("POST", "/api/prompts", dict, json=body)

    @staticmethod
    def move(name: str, label: str, body: dict[str, Any]) -> _Op[LabelState]:
        return _Op("PUT", _path(name, "labels", label), LabelState.model_validate, json=body)

    @staticmethod
    def rollback(name: str, label: str) -> _Op[LabelState]:
        path = _path(name, "labels", label, "rollback")
        return _Op("POST", path, LabelState.model_validate, json={})

    @staticmethod
    def history(name: str, label: str | None) -> _Op[builtins.list[LabelEvent]]:
        parse = lambda d: [LabelEvent.model_validate(e) for e in d["events"]]  # noqa: E731
        params = {"label": label} if label else None
        return _Op("GET", _path(name, "history"), parse, params=params)

    @staticmethod
    def diff(name: str, a: str, b: str) -> _Op[VersionDiff]:
        params = {"a": a, "b": b}
        return _Op("GET", _path(name, "diff"), VersionDiff.model_validate, params=params)

    @staticmethod
    def render(name: str, body: dict[str, Any]) -> _Op[RenderedPrompt]:
        return _Op("POST", _path(name, "render"), RenderedPrompt.model_validate, json=body)


def _move_body(
    version: int | None, targets: list[Target] | None, canary: CanaryPlan | None, reason: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": reason} if reason else {}
    if canary is not None:
        body["canary"] = canary.model_dump(mode="json")
    elif targets is not None:
        body["targets"] = [t.model_dump() for t in targets]
    else:
        body["version"] = version
    return body


def _render_body(
    variables: dict[str, Any] | None, label: str | None, version: int | None, user: str | None
) -> dict[str, Any]:
    body = {"variables": variables or {}, "label": label, "version": version, "user": user}
    return {k: v for k, v in body.items() if v is not None}


class _Cache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.entries: dict[tuple[str, str | None, int | None], _Entry] = {}

    def fresh(self, key: tuple[str, str | None, int | None]) -> _Entry | None:
        entry = self.entries.get(key)
        if entry is not None and (
            key[2] is not None or time.monotonic() - entry.fetched < self.ttl
        ):
            return entry
        return None

    def stale(
        self,
        key: tuple[str, str | None, int | None],
        error: Exception,
        fallback: PromptVersion | dict[str, Any] | None,
    ) -> _Entry:
        entry = self.entries.get(key)
        if entry is not None:
            log.warning("llmdeck prompt %s: serving a cached copy: %s", key[0], error)
            return entry
        if fallback is None:
            raise error
        log.warning("llmdeck prompt %s: serving the fallback: %s", key[0], error)
        if isinstance(fallback, dict):
            fallback = PromptVersion.model_validate({"name": key[0], "version": 0, **fallback})
        return _Entry(time.monotonic(), None, {fallback.version: fallback})


class PromptsClient:
    """`client.prompts` of the synchronous `llmdeck.Client`."""

    def __init__(self, http: httpx.Client, *, cache_ttl: float = 60.0) -> None:
        self._http = http
        self._cache = _Cache(cache_ttl)

    def _call(self, op: _Op[T]) -> T:
        try:
            response = self._http.request(op.method, op.path, json=op.json, params=op.params)
        except httpx.TransportError as exc:
            raise _unavailable(exc, self._http.base_url) from None
        return op.parse(_check(response))

    def get(
        self,
        name: str,
        *,
        label: str | None = None,
        version: int | None = None,
        user: str | None = None,
        fallback: PromptVersion | dict[str, Any] | None = None,
    ) -> PromptVersion:
        """The version for `label` (default `production`) or `version`, from the cache when fresh,
        and, when the server is unavailable, from the last copy, or else from `fallback` (a
        PromptVersion, or a prompt file's fields as a dict: `{"messages": [...]}`)."""
        key = (name, label, version)
        entry = self._cache.fresh(key)
        if entry is None:
            try:
                entry = self._call(_get_op(name, label, version))
                self._cache.entries[key] = entry
            except ServerUnavailable as exc:
                entry = self._cache.stale(key, exc, fallback)
        return entry.pick(user)

    def list(self) -> builtins.list[Prompt]:
        """Every prompt with its labels."""
        return self._call(_Ops.list())

    def versions(self, name: str) -> builtins.list[PromptVersion]:
        """Every version of a prompt, newest first."""
        return self._call(_Ops.versions(name))

    def version(self, name: str, ref: str | int) -> PromptVersion:
        """One version by number (`3`, `v3`) or label (uncached)."""
        return self._call(_Ops.version(name, ref))

    def push(self, spec: PromptSpec | dict[str, Any]) -> dict[str, Any]:
        """Store a version (none if it equals the newest) and move its labels."""
        return self._call(_Ops.push(spec))

    def set_label(
        self,
        name: str,
        label: str,
        version: int | None = None,
        *,
        targets: builtins.list[Target] | None = None,
        canary: CanaryPlan | None = None,
        reason: str | None = None,
    ) -> LabelState:
        """Point a label at a version, a weighted split, or start an automatic canary."""
        return self._call(_Ops.move(name, label, _move_body(version, targets, canary, reason)))

    def rollback(self, name: str, label: str) -> LabelState:
        """Move a label back where it pointed before."""
        return self._call(_Ops.rollback(name, label))

    def history(self, name: str, label: str | None = None) -> builtins.list[LabelEvent]:
        """Label moves, oldest first."""
        return self._call(_Ops.history(name, label))

    def diff(self, name: str, a: str, b: str) -> VersionDiff:
        """Compare two versions (`3`, `v3` or a label)."""
        return self._call(_Ops.diff(name, a, b))

    def render(
        self,
        name: str,
        variables: dict[str, Any] | None = None,
        *,
        label: str | None = None,
        version: int | None = None,
        user: str | None = None,
    ) -> RenderedPrompt:
        """Render on the server (a preview of what the gateway sends)."""
        return self._call(_Ops.render(name, _render_body(variables, label, version, user)))


class AsyncPromptsClient:
    """`client.prompts` of `llmdeck.AsyncClient`: the same methods, awaitable."""

    def __init__(self, http: httpx.AsyncClient, *, cache_ttl: float = 60.0) -> None:
        self._http = http
        self._cache = _Cache(cache_ttl)

    async def _call(self, op: _Op[T]) -> T:
        try:
            response = await self._http.request(op.method, op.path, json=op.json, params=op.params)
        except httpx.TransportError as exc:
            raise _unavailable(exc, self._http.base_url) from None
        return op.parse(_check(response))

    async def get(
        self,
        name: str,
        *,
        label: str | None = None,
        version: int | None = None,
        user: str | None = None,
        fallback: PromptVersion | dict[str, Any] | None = None,
    ) -> PromptVersion:
        """See `PromptsClient.get`."""
        key = (name, label, version)
        entry = self._cache.fresh(key)
        if entry is None:
            try:
                entry = await self._call(_get_op(name, label, version))
                self._cache.entries[key] = entry
            except ServerUnavailable as exc:
                entry = self._cache.stale(key, exc, fallback)
        return entry.pick(user)

    async def list(self) -> builtins.list[Prompt]:
        """See `PromptsClient.list`."""
        return await self._call(_Ops.list())

    async def versions(self, name: str) -> builtins.list[PromptVersion]:
        """See `PromptsClient.versions`."""
        return await self._call(_Ops.versions(name))

    async def version(self, name: str, ref: str | int) -> PromptVersion:
        """See `PromptsClient.version`."""
        return await self._call(_Ops.version(name, ref))

    async def push(self, spec: PromptSpec | dict[str, Any]) -> dict[str, Any]:
        """See `PromptsClient.push`."""
        return await self._call(_Ops.push(spec))

    async def set_label(
        self,
        name: str,
        label: str,
        version: int | None = None,
        *,
        targets: builtins.list[Target] | None = None,
        canary: CanaryPlan | None = None,
        reason: str | None = None,
    ) -> LabelState:
        """See `PromptsClient.set_label`."""
        body = _move_body(version, targets, canary, reason)
        return await self._call(_Ops.move(name, label, body))

    async def rollback(self, name: str, label: str) -> LabelState:
        """See `PromptsClient.rollback`."""
        return await self._call(_Ops.rollback(name, label))

    async def history(self, name: str, label: str | None = None) -> builtins.list[LabelEvent]:
        """See `PromptsClient.history`."""
        return await self._call(_Ops.history(name, label))

    async def diff(self, name: str, a: str, b: str) -> VersionDiff:
        """See `PromptsClient.diff`."""
        return await self._call(_Ops.diff(name, a, b))

    async def render(
        self,
        name: str,
        variables: dict[str, Any] | None = None,
        *,
        label: str | None = None,
        version: int | None = None,
        user: str | None = None,
    ) -> RenderedPrompt:
        """See `PromptsClient.render`."""
        body = _render_body(variables, label, version, user)
        return await self._call(_Ops.render(name, body))
