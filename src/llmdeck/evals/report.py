"""Reports of a suite run: JUnit XML for CI, a Markdown summary, and the `--json` object."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from llmdeck.evals.service import Outcome


def as_json(outcome: Outcome) -> dict[str, Any]:
    """`{"id", "scores": {evaluator: mean}, "regressions": [...]}` and details."""
    out: dict[str, Any] = {
        "id": outcome.run.id,
        "scores": {name: a.mean for name, a in outcome.scores.items()},
        "details": {name: a.to_dict() for name, a in outcome.scores.items()},
        "regressions": outcome.regressions,
        "failures": outcome.failures,
        "errors": outcome.errors,
        "passed": outcome.passed and not outcome.regressions,
        "items": outcome.run.item_count,
        "cost": outcome.run.cost,
    }
    if outcome.comparison is not None:
        out["comparison"] = [d.to_dict() for d in outcome.comparison.differences]
    return out


def junit(outcome: Outcome, thresholds: dict[str, float]) -> str:
    """One testsuite; a testcase per evaluator (its threshold and regression check) and one
    per item that failed to run."""
    run = outcome.run
    suite = ET.Element("testsuite", name=run.name or "eval", timestamp=str(run.created_at))
    cases = 0
    failures = 0
    regressed = set(outcome.regressions)
    for name, score in outcome.scores.items():
        case = ET.SubElement(suite, "testcase", classname=run.name or "eval", name=name)
        cases += 1
        mean = "n/a" if score.mean is None else f"{score.mean:.4f}"
        ET.SubElement(
            case, "system-out"
        ).text = f"mean {mean} over {score.measured} items ({score.unmeasured} unmeasured)"
        limit = thresholds.get(name)
        problems = []
        if limit is not None and (score.mean is None or score.mean < limit):
            problems.append(f"mean {mean} is below the threshold {limit}")
        if name in regressed and outcome.comparison is not None:
            diff = next(d for d in outcome.comparison.differences if d.evaluator == name)
            problems.append(
                f"regression vs {outcome.comparison.a}: {diff.delta:+.4f} "
                f"({outcome.comparison.confidence:.0%} CI {diff.low:+.4f}..{diff.high:+.4f})"
            )
        if problems:
            failures += 1
            failure = ET.SubElement(case, "failure", message="; ".join(problems))
            failure.text = "\n".join(problems)
    errored = [r for r in run.results if r.error]
    for result in errored:
        case = ET.SubElement(suite, "testcase", classname=f"{run.name}.items", name=result.item_id)
        ET.SubElement(case, "error", message=(result.error or "")[:300])
        cases += 1
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("errors", str(len(errored)))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def markdown(outcome: Outcome, thresholds: dict[str, float]) -> str:
    """A Markdown summary for a pull request or a job summary."""
    run = outcome.run
    verdict = "passed" if outcome.passed and not outcome.regressions else "failed"
    lines = [
        f"## Evaluation `{run.name}`: {verdict}",
        "",
        f"Run `{run.id}`, {run.item_count} items, dataset `{run.dataset}`, cost ${run.cost:.4f}.",
        "",
        "| evaluator | mean | measured | threshold | vs baseline |",
        "| --- | --- | --- | --- | --- |",
    ]
    diffs = {d.evaluator: d for d in outcome.comparison.differences} if outcome.comparison else {}
    for name, score in outcome.scores.items():
        diff = diffs.get(name)
        change = ""
        if diff is not None and diff.delta is not None:
            flag = " **regression**" if diff.regression else ""
            change = f"{diff.delta:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}]{flag}"
        limit = thresholds.get(name)
        lines.append(
            f"| {name} | {_fmt(score.mean)} | {score.measured}/{score.measured + score.unmeasured}"
            f" | {'' if limit is None else limit} | {change} |"
        )
    if outcome.failures:
        lines += ["", "Below threshold: " + "; ".join(outcome.failures)]
    if outcome.errors:
        lines += ["", f"{outcome.errors} items failed to run."]
    return "\n".join(lines) + "\n"
