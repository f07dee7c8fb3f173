"""The cache stage: answer from the cache when the alias allows it, and keep what upstream
answers for next time.

Exact lookups come first (a hash of the normalised request). On semantic aliases an exact miss
embeds the question through the gateway's own embedding path (the alias's `embedding`, local by
default) and asks the backend for the nearest cached questions over the threshold; a candidate
is served only if the agreement checks pass (`cache.agree`). A hit costs nothing and records
what it saved on the call (`cache_saved_tokens`, `cache_saved_usd`); a streamed hit is replayed
as chunks. `x-llmdeck-cache: bypass` skips the cache both ways; `refresh` skips the lookup,
stores the new answer, and counts the entry it replaces as a suspected false hit if that entry
had been served. Errors of the cache never fail a request: it is then a miss.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from llmdeck.config import AliasCache, Settings
from llmdeck.errors import BadRequest
from llmdeck.gateway.cache import (
    AliasStats,
    CacheBackend,
    CacheStats,
    Entry,
    Fingerprint,
    Recording,
    build_backend,
    disagreement,
    fingerprint,
    replay,
)
from llmdeck.gateway.call import OPEN, Call, Reply
from llmdeck.gateway.pipeline import Next
from llmdeck.gateway.state import StateBackend
from llmdeck.gateway.wire.openai import (
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    Usage,
)
from llmdeck.store import Store

if TYPE_CHECKING:
    from llmdeck.gateway.gateway import Gateway

log = logging.getLogger(__name__)

Embed = Callable[[str, list[str], Call], Awaitable[np.ndarray]]
"""(embedding alias, texts, the call it is for) -> unit vectors, one row per text."""

CONTROLS = ("bypass", "refresh")
CANDIDATES = 4  # semantic candidates over the threshold to try the agreement checks on
RECENT_HITS = 50_000  # trace ids of recent hits kept for feedback without a database read


@dataclass(frozen=True, slots=True)
class Hit:
    """A cached entry that may answer the call."""

    entry: Entry
    kind: Literal["hit", "semantic-hit"]
    similarity: float = 1.0


@dataclass(slots=True)
class _Lookup:
    fingerprint: Fingerprint
    vector: np.ndarray | None = None


@dataclass(slots=True)
class _Keep:
    """Holds the upstream answer of a miss until the call ends, then stores it."""

    stage: CacheStage
    policy: AliasCache
    look: _Lookup
    response: ChatResponse | None = None
    recording: Recording | None = None

    def watch(self, call: Call, reply: Reply) -> Reply:
        if isinstance(reply, ChatResponse):
            self.response = reply
            return reply
        if isinstance(reply, EmbeddingResponse) or (call.chat.n or 1) > 1:
            return reply  # streamed choices beyond the first are not assembled
        self.recording = Recording()
        return self.recording.wrap(reply)

    def store(self, call: Call) -> None:
        response = self.response
        if self.recording is not None and self.recording.complete:
            response = self.recording.response()
        if response is not None:
            self.stage.store(call, self.policy, self.look, response)


def cache_control(value: str | None) -> str | None:
    """The request's `x-llmdeck-cache` value (bypass, refresh), or BadRequest naming it."""
    if value is None or not value.strip():
        return None
    control = value.strip().lower()
    if control not in CONTROLS:
        raise BadRequest(
            f"x-llmdeck-cache: unknown value {value!r}; use bypass or refresh",
            param="x-llmdeck-cache",
            code="invalid_header",
        )
    return control


class CacheStage:
    """Serves and stores chat answers for aliases with `cache` on."""

    def __init__(self, backend: CacheBackend, embed: Embed, store: Store | None = None) -> None:
        self.backend = backend
        self.embed = embed
        self.db = store
        self.stats = CacheStats()
        self._recent: OrderedDict[str, tuple[str, str, str | None]] = OrderedDict()
        self._tasks: set[asyncio.Task[Any]] = set()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        embed: Embed,
        store: Store | None = None,
        state: StateBackend | None = None,
    ) -> CacheStage | None:
        """The stage for `settings`, or None when no alias caches (no cost per call then);
        a Redis backend borrows `state`'s connection when it has one."""
        if not any(alias.cache.active for alias in settings.models):
            return None
        return cls(build_backend(settings, store, state), embed, store)

    async def start(self) -> None:
        """Connect the backend and load what it kept."""
        await self.backend.start()

    async def close(self) -> None:
        """Finish pending writes and disconnect."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.backend.close()

    async def __call__(self, call: Call, next: Next) -> Reply:
        policy = call.alias.cache
        if call.kind != "chat" or not policy.active:
            return await next(call)
        control = cache_control(call.cache_control)
        stats = self.stats.of(call.alias.name)
        if control == "bypass":
            stats.bypassed += 1
            call.attributes["cache_control"] = "bypass"
            return await next(call)
        look = _Lookup(fingerprint(call, policy))
        if control == "refresh":
            await self._refresh(call, policy, look, stats)
        else:
            stats.lookups += 1
            hit = await self._find(call, policy, look, stats)
            if hit is not None:
                return self._serve(call, hit, stats)
            stats.misses += 1
        call.cache = "miss"
        keep = _Keep(self, policy, look)
        call.on_end(keep.store)  # registered before the inner stages' callbacks: runs after them
        return keep.watch(call, await next(call))

    async def _find(
        self, call: Call, policy: AliasCache, look: _Lookup, stats: AliasStats
    ) -> Hit | None:
        found = look.fingerprint
        try:
            entry = await self.backend.get(found.key)
            if entry is not None:
                return Hit(entry, "hit")
            if found.namespace is None or found.question is None:
                return None
            look.vector = await self._vector(call, policy, found.question)
            candidates = await self.backend.nearest(
                found.namespace, look.vector, policy.threshold, CANDIDATES
            )
        except Exception:  # a broken cache is a miss, never a failed request
            stats.errors += 1
            log.warning("cache lookup failed for %s", call.alias.name, exc_info=True)
            return None
        for candidate, similarity in candidates:
            reason = disagreement(found.question, candidate.question or "")
            if policy.verify and reason is not None:
                stats.rejected[reason] += 1
                continue
            return Hit(candidate, "semantic-hit", similarity)
        return None

    async def _vector(self, call: Call, policy: AliasCache, question: str) -> np.ndarray:
        vectors = await self.embed(policy.embedding, [question], call)
        vector = np.asarray(vectors[0], dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    async def _refresh(
        self, call: Call, policy: AliasCache, look: _Lookup, stats: AliasStats
    ) -> None:
        """A refresh of an answer that was served says that answer was doubted."""
        stats.refreshed += 1
        call.attributes["cache_control"] = "refresh"
        replaced = await self._find(call, policy, look, stats)
        if replaced is None or replaced.entry.hits == 0:
            return
        stats.suspected["refresh"] += 1
        call.attributes["cache_suspect"] = "refresh"
        call.attributes["cache_suspect_entry"] = replaced.entry.key
        self._spawn(self.backend.delete(replaced.entry), stats)

    def _serve(self, call: Call, hit: Hit, stats: AliasStats) -> Reply:
        entry = hit.entry
        call.cache = hit.kind
        call.cost = 0.0
        call.usage = Usage()  # nothing was spent; what was saved is in the attributes
        if hit.kind == "hit":
            stats.hits += 1
        else:
            stats.semantic_hits += 1
            call.attributes["cache_similarity"] = round(hit.similarity, 4)
        stats.saved_tokens += entry.saved_tokens
        stats.saved_usd += entry.cost
        call.attributes.update(
            cache_entry=entry.key,
            cache_saved_tokens=entry.saved_tokens,
            cache_saved_usd=entry.cost,
            cache_age_s=round(time.time() - entry.created_at, 3),
        )
        self._remember(call, entry)
        self._spawn(self.backend.touch(entry), stats)
        fresh = {"id": f"chatcmpl-{os.urandom(12).hex()}", "created": int(time.time())}
        response = entry.chat_response().model_copy(update=fresh)
        if not call.streaming:
            return response
        call.on_end(_nothing_spent)  # the stream tracker counts the replayed usage chunk
        return replay(response)

    def store(self, call: Call, policy: AliasCache, look: _Lookup, response: ChatResponse) -> None:
        """Keep an upstream answer that ended well."""
        if call.status != "ok" or call.deployment is None or not response.choices:
            return
        if any(c.finish_reason == "content_filter" for c in response.choices):
            return
        usage = call.usage or Usage()
        now = time.time()
        semantic = look.vector is not None and look.fingerprint.namespace is not None
        entry = Entry(
            key=look.fingerprint.key,
            alias=call.alias.name,
            response=response.model_dump(exclude_none=True),
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost=call.cost or 0.0,
            created_at=now,
            expires_at=now + policy.ttl,
            namespace=look.fingerprint.namespace if semantic else None,
            question=look.fingerprint.question,
            vector=look.vector if semantic else None,
        )
        stats = self.stats.of(call.alias.name)
        stats.stored += 1
        self._spawn(self.backend.put(entry, policy.max_entries), stats)

    def _spawn(self, work: Coroutine[Any, Any, None], stats: AliasStats) -> None:
        """Run backend work after the reply, off the request path."""
        try:
            task = asyncio.get_running_loop().create_task(_logged(work, stats))
        except RuntimeError:  # no loop: a stream closed by the garbage collector
            work.close()
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _remember(self, call: Call, entry: Entry) -> None:
        self._recent[call.trace_id] = (entry.alias, entry.key, call.principal.key_id)
        while len(self._recent) > RECENT_HITS:
            self._recent.popitem(last=False)

    def recent_hit(self, trace_id: str) -> tuple[str, str, str | None] | None:
        """(alias, entry key, key id) of a hit this process served, by its trace id."""
        return self._recent.get(trace_id)


async def _logged(work: Coroutine[Any, Any, None], stats: AliasStats) -> None:
    try:
        await work
    except Exception:  # the answer is already on its way; count and go on
        stats.errors += 1
        log.warning("cache write failed", exc_info=True)


def _nothing_spent(call: Call) -> None:
    call.usage = Usage()
    call.cost = 0.0


def gateway_embed(gateway: Gateway) -> Embed:
    """Embeddings for the semantic cache, through the gateway (so remote embedding models,
    routing and cost apply); the embedding call is a child span of the chat call."""

    async def embed(alias: str, texts: list[str], parent: Call) -> np.ndarray:
        request = EmbeddingRequest(model=alias, input=texts)
        call = gateway.new_call("embeddings", request, OPEN)
        call.trace_id, call.parent_id = parent.trace_id, parent.span_id
        call.attributes["purpose"] = "cache"
        reply = await gateway.handle(call)
        if not isinstance(reply, EmbeddingResponse):
            raise TypeError("an embedding call got a chat reply")
        return vectors_of(reply)

    return embed


def vectors_of(reply: EmbeddingResponse) -> np.ndarray:
    """The vectors of an embeddings response, in input order, as a float32 matrix."""
    rows = []
    for item in sorted(reply.data, key=lambda d: d.index):
        if isinstance(item.embedding, str):
            rows.append(np.frombuffer(base64.b64decode(item.embedding), dtype="<f4"))
        else:
            rows.append(np.asarray(item.embedding, dtype=np.float32))
    return np.vstack(rows).astype(np.float32)
