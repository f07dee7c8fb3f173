"""Caching and batch settings: a model alias's `cache`, and the top-level `cache` and `batch`
sections.

```yaml
models:
  - name: chat
    cache: exact                     # a bare mode is short for {mode: exact}
  - name: support
    cache: {mode: semantic, ttl: 3600, scope: team, threshold: 0.92}
cache: {backend: auto}               # auto: Redis when LLMDECK_REDIS_URL is set
batch: {concurrency: 4}
```
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CacheMode = Literal["off", "exact", "semantic"]
CacheScope = Literal["key", "team", "user", "global"]

DEFAULT_THRESHOLD = 0.80
"""Cosine similarity a semantic hit needs, chosen from the precision/recall curve of the
labelled pairs in bench/data (see docs/benchmarks.md, `## Caching`)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AliasCache(_Frozen):
    """How one model alias caches its answers.

    `scope` decides who may share an answer: `key` (the default: callers with the same key),
    `team` (keys of one team; keys without a team keep their own), `user` (the same key and the
    same `user` field) or `global` (everyone calling the alias).
    """

    mode: CacheMode = "off"
    ttl: float = Field(default=86_400.0, gt=0)
    max_entries: int = Field(default=10_000, gt=0)
    scope: CacheScope = "key"
    threshold: float = Field(default=DEFAULT_THRESHOLD, gt=0, le=1)
    embedding: str = Field(default="embed", min_length=1)
    verify: bool = True

    @model_validator(mode="before")
    @classmethod
    def _bare_mode(cls, value: Any) -> Any:
        return {"mode": value} if isinstance(value, str) else value

    @property
    def active(self) -> bool:
        """Whether the alias caches at all."""
        return self.mode != "off"

    @property
    def semantic(self) -> bool:
        """Whether similar (not only identical) requests may be answered from the cache."""
        return self.mode == "semantic"


class CacheSettings(_Frozen):
    """Where cached answers live. `auto` keeps them in-process (persisted in the database when
    `persist` is on) unless a Redis URL is configured, which replicas then share."""

    backend: Literal["auto", "memory", "redis"] = "auto"
    persist: bool = True
    prefix: str = Field(default="llmdeck:cache:", min_length=1)


class BatchSettings(_Frozen):
    """How batches run: as jobs (`batch.run`), one per `lines_per_job` lines up to `split` of
    them, so several workers share a batch; each job runs up to `concurrency` lines at once
    when its process serves no other request, one fewer for each interactive request in flight,
    never fewer than `min_concurrency`. Every `poll_interval` seconds a sweep ends expired
    batches and restarts any that no job drives (after a crash)."""

    concurrency: int = Field(default=4, gt=0)
    min_concurrency: int = Field(default=1, ge=0)
    max_attempts: int = Field(default=3, gt=0)
    lease: float = Field(default=60.0, gt=0)
    poll_interval: float = Field(default=5.0, gt=0)
    max_file_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    max_lines: int = Field(default=50_000, gt=0)
    drain_timeout: float = Field(default=10.0, ge=0)
    lines_per_job: int = Field(default=100, gt=0)
    split: int = Field(default=8, gt=0)
