"""Experiments started over the API: recorded as a queued run, then run as a job
(`evals.run`) through the runtime's job queue. A job that is retried resumes the run."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from llmdeck.errors import BadRequest
from llmdeck.evals.evaluators import EvaluatorSpecError, build_evaluators
from llmdeck.evals.runs import Run, new_run_id
from llmdeck.evals.service import Evals
from llmdeck.evals.suite import SuiteSpec
from llmdeck.jobs import Job, Jobs

RUN = "evals.run"
SWEEP = "evals.sweep"
SWEEP_INTERVAL = 60.0
STALE = 300.0  # a running experiment with no new result for this long has lost its job


class ExperimentRequest(SuiteSpec):
    """POST /api/experiments: a suite over a registered dataset, and an optional baseline."""

    baseline: str | None = Field(default=None, min_length=1)


class Experiments:
    """Starts experiments as jobs and runs them when the job arrives."""

    def __init__(self, evals: Evals, jobs: Jobs) -> None:
        self.evals = evals
        self.jobs = jobs

    def register(self) -> None:
        """Handle `evals.run` jobs in this process, and sweep for runs whose job was lost."""
        self.jobs.register(RUN, self._run)
        self.jobs.register(SWEEP, self._sweep)
        self.jobs.every(SWEEP, SWEEP_INTERVAL)

    async def _enqueue(self, run_id: str) -> None:
        key = f"{RUN}:{run_id}"
        await self.jobs.enqueue(RUN, {"run_id": run_id}, dedupe=key, lock=key)

    async def _sweep(self, job: Job) -> None:
        """Enqueue again the API's experiments left queued or running without progress (an
        in-process queue loses its jobs when the server restarts; a retried job resumes)."""
        for run_id in await self.evals.runs.stalled(STALE, SWEEP_INTERVAL):
            await self._enqueue(run_id)

    async def start(self, request: ExperimentRequest) -> Run:
        """Check the request, record a queued run, enqueue its job."""
        try:
            build_evaluators(request.evaluators, self.evals.tools(), functions=False)
        except EvaluatorSpecError as exc:
            raise BadRequest(f"evaluators[{exc.index}]: {exc}", param="evaluators") from None
        name, _, pinned = request.dataset.partition("@")
        try:
            wanted = int(pinned.lstrip("v")) if pinned else None
        except ValueError:
            raise BadRequest("dataset: NAME or NAME@vN", param="dataset") from None
        version, items = await self.evals.datasets.items(name, wanted)
        if request.baseline:
            await self.evals.runs.get(request.baseline, results=False)
        await self.evals.datasets.lock(name, version)
        run_id = new_run_id()
        target = await self.evals.pin(request.target)
        spec = request.model_dump(mode="json")
        spec["target"] = target.model_dump(mode="json", exclude_defaults=True)
        spec["job"] = True  # run by the job queue (the sweep may enqueue it again)
        await self.evals.runs.create(
            run_id, name=request.name, dataset=name, dataset_version=version, spec=spec,
            item_count=len(items), status="queued",
        )  # fmt: skip
        await self._enqueue(run_id)
        return await self.evals.runs.get(run_id, results=False)

    async def _run(self, job: Job) -> None:
        run_id = str(job.payload["run_id"])
        run = await self.evals.runs.get(run_id, results=False)
        if run.status not in ("queued", "running", "interrupted"):
            return  # done already (a duplicate delivery)
        request = ExperimentRequest.model_validate(
            {k: v for k, v in run.spec.items() if k != "job"}
        )
        evaluators = build_evaluators(request.evaluators, self.evals.tools(), functions=False)
        assert run.dataset is not None
        _, items = await self.evals.datasets.items(run.dataset, run.dataset_version)
        await self.evals.runs.set_status(run_id, "running")
        await self.evals.execute(
            run_id, request.name, request.target, evaluators, items, request.thresholds,
            baseline=request.baseline, concurrency=request.concurrency,
        )  # fmt: skip


def run_body(run: Run) -> dict[str, Any]:
    """A run as the API shows it, with per-item results when loaded."""
    body = run.to_dict()
    body["results"] = [r.__dict__ for r in run.results]
    return body
