"""The `jobs` section: where background work (batches, and later ingestion, embedding
migrations and evaluation runs) is queued and which processes run it.

```yaml
jobs:
  backend: auto        # auto: PostgreSQL (procrastinate) when the database is PostgreSQL,
                       # else in-process; local | postgres to choose
  in_server: true      # `llmdeck serve` processes run jobs too (false: only `llmdeck worker`)
  concurrency: 8       # jobs one process runs at once
  max_attempts: 5      # tries of a failing job, waiting backoff * 2^(attempt-1) in between
  backoff: 2
  heartbeat: 5         # seconds between a worker's heartbeats (postgres)
  stalled_after: 30    # a worker silent this long is gone: its running jobs are retried
```
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

JobsBackend = Literal["auto", "local", "postgres"]


class JobsSettings(BaseModel):
    """Background jobs: the queue, who works it, retries and stuck-job recovery."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: JobsBackend = "auto"
    in_server: bool = True
    concurrency: int = Field(default=8, gt=0, le=1000)
    max_attempts: int = Field(default=5, gt=0, le=100)
    backoff: float = Field(default=2.0, gt=0, le=3600)
    max_backoff: float = Field(default=300.0, gt=0)
    heartbeat: float = Field(default=5.0, gt=0, le=300)
    stalled_after: float = Field(default=30.0, gt=0)
    poll_interval: float = Field(default=2.0, gt=0, le=300)
    drain_timeout: float = Field(default=10.0, ge=0)

    @model_validator(mode="after")
    def _heartbeat_fits(self) -> JobsSettings:
        if self.stalled_after < 2 * self.heartbeat:
            raise ValueError(
                "stalled_after must be at least twice heartbeat, or live workers look stalled"
            )
        return self

    def delay(self, attempt: int) -> float:
        """Seconds to wait before try `attempt + 1` after try `attempt` (1-based) failed."""
        return float(min(self.max_backoff, self.backoff * 2.0 ** max(0, attempt - 1)))
