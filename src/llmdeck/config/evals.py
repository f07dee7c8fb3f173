"""The `evals` section: experiment defaults, judges, regression gates, prompt promotion gates and
online evaluation.

```yaml
evals:
  concurrency: 8             # items of an experiment in flight at once
  judge_model: chat          # model alias of LLM-as-judge evaluators (and judged RAG metrics)
  judge_prompt: llmdeck-judge  # the registered prompt the judge renders (seeded if absent)
  judge_retries: 2           # a judge reply that errors or cannot be read is retried, then None
  embedding_model: embed     # model alias for semantic similarity and answer relevancy
  rag_url: http://127.0.0.1:4000   # server whose POST /api/rag/query `{rag: NAME}` targets call
  confidence: 0.95           # paired bootstrap: a regression needs this confidence
  bootstrap: 2000            # bootstrap resamples
  seed: 0
  promotion:                 # moving a protected label needs this suite to pass
    - {prompt: support-answer, label: production, suite: evals/support.yaml}
  online:                    # score a sample of live traces continuously
    sample_rate: 0.1
    evaluators: [{length: {max: 2000}}, json_valid]
    interval: 60
```
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PromotionRule(_Section):
    """A suite that must pass before `label` of `prompt` moves to a version."""

    prompt: str = Field(min_length=1)
    label: str = "production"
    suite: str = Field(min_length=1)


class OnlineSettings(_Section):
    """Score a share of live traces with chosen evaluators, as a periodic job."""

    sample_rate: float = Field(default=0.1, ge=0, le=1)
    evaluators: tuple[str | dict[str, Any], ...] = Field(min_length=1)
    interval: float = Field(default=60.0, gt=0)
    batch_size: int = Field(default=200, gt=0, le=10_000)


class EvalsSettings(_Section):
    """Evaluation: experiments, judges, gates."""

    concurrency: int = Field(default=8, gt=0, le=1000)
    judge_model: str = "chat"
    judge_prompt: str = "llmdeck-judge"
    judge_retries: int = Field(default=2, ge=0, le=10)
    embedding_model: str = "embed"
    rag_url: str = "http://127.0.0.1:4000"
    confidence: float = Field(default=0.95, gt=0.5, lt=1)
    bootstrap: int = Field(default=2000, ge=100, le=100_000)
    seed: int = 0
    promotion: tuple[PromotionRule, ...] = ()
    online: OnlineSettings | None = None
