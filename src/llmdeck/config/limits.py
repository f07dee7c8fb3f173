"""The `state` and `limits` sections: where shared counters live, and how keys, rate limits and
budgets behave.

```yaml
state:                        # shared by limits, budgets, key revocations (and cache, circuits)
  prefix: "llmdeck:"          # Redis key prefix, so several deployments can share one Redis
  timeout: 0.5                # seconds one Redis command may take before local state takes over
limits:
  window: 60                  # seconds over which rpm and tpm are counted (a sliding window)
  default_max_tokens: 4096    # output tokens a budget reserves for a request that sets none
  budget_warn_at: 0.8         # share of a budget that records a `budget.warning` event
```
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StateSettings(_Section):
    """Shared state: in-process, or Redis (`redis_url`) with a local fallback."""

    prefix: str = Field(default="llmdeck:", max_length=100)
    timeout: float = Field(default=0.5, gt=0, le=30)
    reconnect_interval: float = Field(default=1.0, gt=0, le=60)


class LimitsSettings(_Section):
    """Virtual keys, rate limits and budgets."""

    window: float = Field(default=60.0, gt=0, le=86_400)
    default_max_tokens: int = Field(default=4096, gt=0)
    budget_warn_at: float = Field(default=0.8, gt=0, le=1)
    lease_ttl: float = Field(default=900.0, gt=0)
    key_refresh: float = Field(default=0.5, gt=0, le=60)
    spend_flush: float = Field(default=1.0, gt=0, le=60)
