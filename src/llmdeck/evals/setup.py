"""`build_experiments`: the evaluation capability as a server or worker process holds it: the
service, the `evals.run` job handler, the promotion gate and the online evaluator."""

from __future__ import annotations

from pathlib import Path

from llmdeck.config import Settings
from llmdeck.errors import ConfigError, Problem
from llmdeck.evals.evaluators import EvaluatorSpecError
from llmdeck.evals.experiments import Experiments
from llmdeck.evals.gate import promotion_gate
from llmdeck.evals.online import OnlineEvaluator
from llmdeck.evals.service import Evals
from llmdeck.evals.suite import load_suite
from llmdeck.gateway import Gateway
from llmdeck.jobs import Jobs
from llmdeck.observe import Recorder
from llmdeck.prompts import Prompts
from llmdeck.store import Store


def build_experiments(
    settings: Settings,
    store: Store,
    gateway: Gateway,
    prompts: Prompts,
    recorder: Recorder,
    jobs: Jobs,
) -> Experiments:
    """Wire evaluation into a runtime (registers its jobs and the promotion gate)."""
    evals = Evals(store, gateway, prompts=prompts, recorder=recorder, settings=settings.evals)
    experiments = Experiments(evals, jobs)
    experiments.register()
    if settings.evals.promotion:
        base = Path(settings.source).parent if settings.source else Path.cwd()
        _check_suites(settings, base)
        prompts.add_gate(promotion_gate(evals, settings.evals.promotion, base))
    if settings.evals.online is not None:
        try:
            online = OnlineEvaluator(evals, settings.evals.online)
        except EvaluatorSpecError as exc:
            where = f"evals.online.evaluators[{exc.index}]"
            raise ConfigError([Problem(where, str(exc), settings.source)]) from None
        online.register(jobs)
    return experiments


def _check_suites(settings: Settings, base: Path) -> None:
    """Every promotion suite must read as a suite now, not when someone first promotes."""
    problems = []
    for index, rule in enumerate(settings.evals.promotion):
        path = Path(rule.suite) if Path(rule.suite).is_absolute() else base / rule.suite
        try:
            load_suite(path)
        except ConfigError as exc:
            where = f"evals.promotion[{index}].suite"
            problems += [Problem(where, str(p), settings.source) for p in exc.problems]
    if problems:
        raise ConfigError(problems)
