"""Routing settings of a model alias: retries and backoff, the deadline, circuit breakers,
active health checks, and the complexity classifier's examples.

```yaml
models:
  - name: chat
    routing: least-latency
    retries: 2                     # rounds over the deployments after the first one failed
    deadline: 30                   # seconds for the whole request, every attempt included
    queue_timeout: 2               # wait at most this for a deployment under max_parallel
    backoff: {initial: 0.25, max: 4, multiplier: 2, jitter: 0.5, max_retry_after: 10}
    circuit: {window: 30, min_requests: 10, failure_rate: 0.5, consecutive_failures: 5,
              cooldown: 15}
    health_check: {interval: 15, timeout: 5, kind: chat, prompt: ping}
    deployments: [...]
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Backoff(_Section):
    """The wait before another round of attempts: `initial * multiplier ** (round - 1)`, capped
    at `max`, less a random share of up to `jitter` of it; never shorter than a deployment's
    `Retry-After`, which is honoured up to `max_retry_after` seconds."""

    initial: float = Field(default=0.25, ge=0)
    max: float = Field(default=4.0, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: float = Field(default=0.5, ge=0, le=1)
    max_retry_after: float = Field(default=10.0, ge=0)


class CircuitSettings(_Section):
    """A circuit breaker per deployment. It opens when, over the last `window` seconds, at
    least `min_requests` attempts were made and `failure_rate` of them failed, or after
    `consecutive_failures` failures in a row; after `cooldown` seconds it lets one probe
    through (half-open) and closes if the probe succeeds."""

    enabled: bool = True
    window: float = Field(default=30.0, gt=0)
    min_requests: int = Field(default=10, ge=1)
    failure_rate: float = Field(default=0.5, gt=0, le=1)
    consecutive_failures: int = Field(default=5, ge=1)
    cooldown: float = Field(default=15.0, gt=0)


class HealthCheck(_Section):
    """An active check of every deployment of the alias: a cheap request each `interval`
    seconds (a one-token chat completion of `prompt`, or an embedding of it), whose outcome
    feeds the deployment's circuit like any request."""

    interval: float = Field(default=15.0, gt=0)
    timeout: float = Field(default=5.0, gt=0)
    kind: Literal["chat", "embedding"] = "chat"
    prompt: str = Field(default="ping", min_length=1)


class ComplexityExample(_Section):
    """A labelled request for the complexity classifier: its text and the tier it belongs to."""

    text: str = Field(min_length=1)
    tier: Literal["simple", "complex"]


class ComplexitySettings(_Section):
    """How `routing: complexity` scores a request. Scores are in [0, 1]; a request at or
    above `threshold` goes to the `complex` tier. `examples` are labelled requests the score
    is pulled towards, by similarity: `lexical` (words and word pairs, cheap) or `embedding`
    (the local embedding model, ~20 ms a request on a laptop core)."""

    threshold: float = Field(default=0.5, ge=0, le=1)
    similarity: Literal["lexical", "embedding"] = "lexical"
    examples: tuple[ComplexityExample, ...] = ()
    neighbours: int = Field(default=5, ge=1)
    examples_weight: float = Field(default=0.5, ge=0, le=1)
