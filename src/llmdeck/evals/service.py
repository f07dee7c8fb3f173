"""`Evals`: datasets, runs and suites over one store, gateway and prompt registry; what the CLI,
the API, the job handler and the promotion gate share."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmdeck.config import EvalsSettings
from llmdeck.errors import ConfigError, NotFound
from llmdeck.evals.compare import Comparison, compare
from llmdeck.evals.datasets import Datasets
from llmdeck.evals.evaluators import JUDGE_MESSAGES, Evaluator, Tools
from llmdeck.evals.items import DatasetError, Item, read_items
from llmdeck.evals.runner import Progress, Runner
from llmdeck.evals.runs import Aggregate, Run, Runs, aggregate, new_run_id
from llmdeck.evals.suite import Suite
from llmdeck.evals.targets import EVALS, GatewayTarget, HttpTarget, Target, TargetSpec
from llmdeck.gateway import (
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    Gateway,
    Message,
)
from llmdeck.observe import Recorder
from llmdeck.prompts import Prompts, PromptSpec
from llmdeck.store import Store


@dataclass
class Outcome:
    """A finished suite run: its scores, what failed, and the comparison with a baseline."""

    run: Run
    scores: dict[str, Aggregate]
    failures: list[str] = field(default_factory=list)
    errors: int = 0
    comparison: Comparison | None = None

    @property
    def regressions(self) -> list[str]:
        """Evaluators that credibly got worse than the baseline."""
        return [d.evaluator for d in self.comparison.regressions] if self.comparison else []

    @property
    def passed(self) -> bool:
        """No threshold missed and no item failed."""
        return not self.failures and not self.errors


class Evals:
    """The evaluation capability's door."""

    def __init__(
        self,
        store: Store,
        gateway: Gateway,
        *,
        prompts: Prompts | None = None,
        recorder: Recorder | None = None,
        settings: EvalsSettings | None = None,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.prompts = prompts
        self.recorder = recorder
        self.settings = settings or EvalsSettings()
        self.datasets = Datasets(store)
        self.runs = Runs(store)

    # model access for evaluators

    async def embed(self, texts: list[str]) -> np.ndarray:
        """Embeddings through the gateway's embedding model alias."""
        request = EmbeddingRequest(model=self.settings.embedding_model, input=texts)
        reply = await self.gateway.handle(self.gateway.new_call("embeddings", request, EVALS))
        assert isinstance(reply, EmbeddingResponse)
        rows = sorted(reply.data, key=lambda e: e.index)
        return np.stack([_vector(e.embedding) for e in rows])

    async def complete(self, model: str, messages: list[dict[str, Any]]) -> str:
        """A chat completion's text through the gateway (temperature 0)."""
        request = ChatRequest(
            model=model, messages=[Message.model_validate(m) for m in messages], temperature=0
        )
        reply = await self.gateway.handle(self.gateway.new_call("chat", request, EVALS))
        if not isinstance(reply, ChatResponse) or not reply.choices:
            return ""
        return reply.choices[0].message.text()

    async def render_judge(
        self, variables: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The registered judge prompt rendered (seeded with the default first if absent)."""
        if self.prompts is None:
            return _fallback_judge(variables), None
        name = self.settings.judge_prompt
        try:
            found = await self.prompts.resolve(name, label="latest")
        except NotFound:
            await self.prompts.push(
                PromptSpec(name=name, messages=JUDGE_MESSAGES, commit_message="default judge"),
                EVALS,
            )
            found = await self.prompts.resolve(name, label="latest")
        rendered = self.prompts.render(found, variables)
        return rendered.messages, rendered.model

    def tools(self) -> Tools:
        """What model-backed evaluators use."""
        has_embeddings = self.gateway.settings.alias(self.settings.embedding_model) is not None
        return Tools(
            embed=self.embed if has_embeddings else None,
            complete=self.complete,
            render_judge=self.render_judge,
            judge_model=self.settings.judge_model,
            judge_retries=self.settings.judge_retries,
        )

    # targets and items

    def target(self, spec: TargetSpec) -> Target:
        """The target a spec names."""
        if spec.kind in ("rag", "http"):
            return HttpTarget(spec, self.settings.rag_url)
        return GatewayTarget(self.gateway, spec)

    async def pin(self, spec: TargetSpec) -> TargetSpec:
        """A prompt target's label resolved to the version it points at now: the run (and a
        resumed run) then uses that one version, and its record says which."""
        if not spec.prompt or spec.version or self.prompts is None:
            return spec
        label = spec.label or self.prompts.settings.default_label
        found = await self.prompts.resolve(spec.prompt, label=label)
        return spec.model_copy(update={"version": found.version.version, "label": None})

    async def suite_items(self, suite: Suite) -> tuple[list[Item], str, int | None]:
        """(items, dataset reference, version) of a suite: its file, or a registered dataset
        (whose version is then locked: it never changes after a run used it)."""
        path = suite.dataset_path()
        if path is not None:
            try:
                return read_items(path), str(path), None
            except DatasetError as exc:
                raise ConfigError([suite.problem(("dataset",), str(exc))]) from None
        name, _, version = suite.spec.dataset.partition("@")
        try:
            chosen, items = await self.datasets.items(
                name, int(version.lstrip("v")) if version else None
            )
        except (NotFound, ValueError) as exc:
            raise ConfigError([suite.problem(("dataset",), str(exc))]) from None
        await self.datasets.lock(name, chosen)
        return items, name, chosen

    # running

    async def run_suite(
        self,
        suite: Suite,
        *,
        resume: str | None = None,
        baseline: str | None = None,
        progress: Progress | None = None,
        target: TargetSpec | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> Outcome:
        """Run (or resume) a suite, then check thresholds and compare with `baseline`."""
        built = suite.evaluators(self.tools())
        items, dataset, version = await self.suite_items(suite)
        if resume is not None:
            run = await self.runs.get(resume, results=False)
            run_id = run.id
            spec = TargetSpec.model_validate(run.spec.get("target") or target or suite.spec.target)
            if run.dataset_version is not None and run.dataset is not None:
                # the version the run started on, even if the dataset has grown since
                _, items = await self.datasets.items(run.dataset, run.dataset_version)
            await self.runs.set_status(run_id, "running")
        else:
            asked = target or suite.spec.target
            try:
                spec = await self.pin(asked)
            except NotFound as exc:
                raise ConfigError([suite.problem(("target",), exc.message)]) from None
            run_id = new_run_id()
            record = {
                **suite.spec.model_dump(mode="json"),
                "target": spec.model_dump(mode="json", exclude_defaults=True),
                "target_label": asked.label if asked.prompt and not asked.version else None,
            }
            await self.runs.create(
                run_id, name=suite.spec.name, dataset=dataset, dataset_version=version,
                spec=record, item_count=len(items),
            )  # fmt: skip
        if announce is not None:
            announce(run_id)
        return await self.execute(
            run_id, suite.spec.name, spec, built, items, suite.spec.thresholds,
            baseline=baseline, progress=progress, concurrency=suite.spec.concurrency,
        )  # fmt: skip

    async def execute(
        self,
        run_id: str,
        name: str,
        spec: TargetSpec,
        evaluators: Sequence[Evaluator],
        items: Sequence[Item],
        thresholds: dict[str, float],
        *,
        baseline: str | None = None,
        progress: Progress | None = None,
        concurrency: int | None = None,
    ) -> Outcome:
        """Run the items still missing from `run_id`, record the aggregate, judge it."""
        target = self.target(spec)
        runner = Runner(
            target, evaluators, self.runs, recorder=self.recorder,
            concurrency=concurrency or self.settings.concurrency, name=name,
        )  # fmt: skip
        try:
            await runner.run(run_id, items, progress)
        except BaseException as exc:
            await self.runs.finish(run_id, "interrupted", {}, error=str(exc) or type(exc).__name__)
            raise
        finally:
            if isinstance(target, HttpTarget):
                await target.close()
        return await self.conclude(run_id, [e.name for e in evaluators], thresholds, baseline)

    async def conclude(
        self, run_id: str, names: list[str], thresholds: dict[str, float], baseline: str | None
    ) -> Outcome:
        """Aggregate a run's results, check thresholds, compare with a baseline run."""
        run = await self.runs.get(run_id)
        scores = aggregate(run.results, names)
        failures = []
        for name, limit in thresholds.items():
            mean = scores[name].mean if name in scores else None
            if mean is None or mean < limit:
                shown = "n/a" if mean is None else f"{mean:.4f}"
                failures.append(f"{name}: mean {shown} < {limit}")
        errors = sum(1 for r in run.results if r.error)
        comparison = await self.compare(baseline, run_id) if baseline else None
        status = "passed" if not failures and not errors else "failed"
        if comparison is not None and comparison.regressions:
            status = "regressed"
        summary = {n: a.to_dict() for n, a in scores.items()}
        await self.runs.finish(run_id, status, summary)
        run = await self.runs.get(run_id)
        return Outcome(run, scores, failures, errors, comparison)

    async def compare(self, a: str, b: str) -> Comparison:
        """Run B against run A (the baseline)."""
        run_a, run_b = await self.runs.get(a), await self.runs.get(b)
        return compare(
            run_a.id, run_a.results, run_b.id, run_b.results,
            confidence=self.settings.confidence, resamples=self.settings.bootstrap,
            seed=self.settings.seed,
        )  # fmt: skip


def _vector(value: list[float] | str) -> np.ndarray:
    if isinstance(value, str):
        return np.frombuffer(base64.b64decode(value), dtype="<f4").astype(np.float32)
    return np.asarray(value, dtype=np.float32)


def _fallback_judge(variables: dict[str, Any]) -> list[dict[str, Any]]:
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment()
    return [
        {"role": m["role"], "content": env.from_string(m["content"]).render(**variables)}
        for m in JUDGE_MESSAGES
    ]
