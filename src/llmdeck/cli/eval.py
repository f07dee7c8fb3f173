"""llmdeck eval run SUITE.yaml | compare RUN_A RUN_B | runs | show RUN | datasets ..."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from llmdeck.cli._output import config_option, errors, print_json, print_table
from llmdeck.config import load_settings
from llmdeck.errors import NotFound
from llmdeck.evals import Comparison, Evals, as_json, junit, load_suite, local_evals, markdown

T = TypeVar("T")
json_option = click.option("--json", "as_json_flag", is_flag=True, help="Print JSON.")


def with_evals(config_path: str | None, work: Callable[[Evals], Awaitable[T]]) -> T:
    """Run `work` with a local evaluation service for the configured database."""
    settings = load_settings(config_path, os.environ)

    async def main() -> T:
        async with local_evals(settings) as evals:
            return await work(evals)

    return asyncio.run(main())


@click.group("eval")
def eval_group() -> None:
    """Evaluation: run suites, compare runs, manage datasets."""


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
    )


@eval_group.command()
@click.argument("suite_file", metavar="SUITE.yaml", type=click.Path(dir_okay=False))
@click.option("--baseline", default=None, help="A run to compare with (regressions).")
@click.option("--fail-on-regression", is_flag=True, help="Exit 1 on a credible regression.")
@click.option("--junit", "junit_file", type=click.Path(dir_okay=False), default=None,
              help="Write JUnit XML here.")  # fmt: skip
@click.option("--summary", "summary_file", type=click.Path(dir_okay=False), default=None,
              help="Write a Markdown summary here.")  # fmt: skip
@click.option("--resume", default=None, metavar="RUN", help="Finish an interrupted run.")
@config_option
@json_option
def run(
    suite_file: str,
    baseline: str | None,
    fail_on_regression: bool,
    junit_file: str | None,
    summary_file: str | None,
    resume: str | None,
    config_path: str | None,
    as_json_flag: bool,
) -> None:
    """Run a suite; exit 1 when a threshold is missed or an item fails (or, with
    --fail-on-regression, on a regression against --baseline), 2 on a bad suite file."""
    suite = load_suite(suite_file)

    async def work(evals: Evals) -> Any:
        for option, run_id in (("--baseline", baseline), ("--resume", resume)):
            if run_id is not None:
                try:
                    await evals.runs.get(run_id, results=False)
                except NotFound as exc:
                    raise click.BadParameter(exc.message, param_hint=option) from None
        with _progress() as bar:
            tasks: list[TaskID] = []  # the bar appears once the suite is checked and the run exists

            def progress(done: int, total: int) -> None:
                bar.update(tasks[0], completed=done, total=total)

            def announce(run_id: str) -> None:
                bar.console.print(f"run {run_id} (resume with --resume {run_id})")
                tasks.append(bar.add_task(suite.spec.name, total=None))

            return await evals.run_suite(
                suite, resume=resume, baseline=baseline, progress=progress, announce=announce
            )

    outcome = with_evals(config_path, work)
    thresholds = suite.spec.thresholds
    if junit_file:
        Path(junit_file).write_text(junit(outcome, thresholds), encoding="utf-8")
    if summary_file:
        Path(summary_file).write_text(markdown(outcome, thresholds), encoding="utf-8")
    if as_json_flag:
        print_json(as_json(outcome))
    else:
        _show_outcome(outcome)
    failed = not outcome.passed or (fail_on_regression and bool(outcome.regressions))
    sys.exit(1 if failed else 0)


def _show_outcome(outcome: Any) -> None:
    diffs = {}
    if outcome.comparison is not None:
        diffs = {d.evaluator: d for d in outcome.comparison.differences}
    rows = []
    for name, score in outcome.scores.items():
        diff = diffs.get(name)
        change = ""
        if diff is not None and diff.delta is not None:
            change = f"{diff.delta:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}]"
            change += " REGRESSION" if diff.regression else ""
        mean = "n/a" if score.mean is None else f"{score.mean:.3f}"
        spread = "" if score.spread is None else f"{score.spread:.3f}"
        takes = "" if score.repeat_spread is None else f"{score.repeat_spread:.3f}"
        rows.append([name, mean, spread, takes, score.measured, score.unmeasured, change])
    columns = ["evaluator", "mean", "stdev", "repeat spread", "measured", "unmeasured"]
    print_table([*columns, "vs baseline"], rows,
                title=f"run {outcome.run.id}: {outcome.run.item_count} items, "
                f"${outcome.run.cost:.4f}")  # fmt: skip
    for name, score in outcome.scores.items():
        if score.unmeasured and score.why_unmeasured:
            click.echo(f"{name}: {score.unmeasured} unmeasured, e.g. {score.why_unmeasured}")
    for failure in outcome.failures:
        click.echo(f"below threshold: {failure}")
    if outcome.errors:
        click.echo(f"{outcome.errors} items failed to run (see `llmdeck eval show`)")
    for name in outcome.regressions:
        click.echo(f"regression: {name}")


@eval_group.command()
@click.argument("run_a")
@click.argument("run_b")
@click.option("--items/--no-items", default=True, help="Show the items whose scores changed.")
@config_option
@json_option
def compare(
    run_a: str, run_b: str, items: bool, config_path: str | None, as_json_flag: bool
) -> None:
    """Compare RUN_B with RUN_A per item and overall; exit 1 on a credible regression."""
    result: Comparison = with_evals(config_path, lambda evals: evals.compare(run_a, run_b))
    if as_json_flag:
        print_json(result.to_dict())
    else:
        rows = [
            [d.evaluator, _f(d.mean_a), _f(d.mean_b), _f(d.delta, signed=True),
             "" if d.low is None else f"{d.low:+.3f}..{d.high:+.3f}", d.paired,
             "regression" if d.regression else ("improvement" if d.improvement else "")]
            for d in result.differences
        ]  # fmt: skip
        print_table(["evaluator", "A", "B", "B - A", f"{result.confidence:.0%} CI", "items",
                     "verdict"], rows, title=f"A = {run_a}, B = {run_b}")  # fmt: skip
        if items:
            changed = [i for i in result.items if i.a != i.b]
            rows = [
                [i.item_id, name, _f(i.a.get(name)), _f(i.b.get(name))]
                for i in changed
                for name in i.a
                if i.a.get(name) != i.b.get(name)
            ]
            if rows:
                print_table(["item", "evaluator", "A", "B"], rows, title="changed items")
    sys.exit(1 if result.regressions else 0)


def _f(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


@eval_group.command("runs")
@click.option("--limit", type=int, default=20, show_default=True)
@config_option
@json_option
def list_runs(limit: int, config_path: str | None, as_json_flag: bool) -> None:
    """Recent runs with their score means."""
    found = with_evals(config_path, lambda evals: evals.runs.list_runs(limit))
    if as_json_flag:
        print_json({"runs": [r.to_dict() for r in found]})
        return
    rows = [
        [r.id, r.name, r.status, f"{r.done_count}/{r.item_count}",
         ", ".join(f"{k}={_f(v.get('mean'))}" for k, v in r.scores.items())]
        for r in found
    ]  # fmt: skip
    print_table(["run", "suite", "status", "items", "means"], rows)


@eval_group.command()
@click.argument("run_id", metavar="RUN")
@config_option
@json_option
def show(run_id: str, config_path: str | None, as_json_flag: bool) -> None:
    """One run's per-item results."""
    found = with_evals(config_path, lambda evals: evals.runs.get(run_id))
    if as_json_flag:
        print_json({**found.to_dict(), "results": [r.__dict__ for r in found.results]})
        return
    rows = [
        [r.item_id, (r.output or r.error or "")[:60],
         ", ".join(f"{k}={_f(v.get('value'))}" for k, v in r.scores.items())]
        for r in found.results
    ]  # fmt: skip
    print_table(["item", "output", "scores"], rows, title=f"run {found.id} ({found.status})")
