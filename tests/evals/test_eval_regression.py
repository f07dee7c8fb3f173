"""A worse prompt version (it drops the context) is caught as a regression and an equivalent
one is not, over several random datasets and bootstrap seeds; answers come from the `local`
extractive model, so they really differ."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from llmdeck.evals import TargetSpec, parse_suite
from llmdeck.evals.local import local_evals

from .conftest import EQUIVALENT, GOOD, WORSE, eval_settings, fact_rows, push, write_jsonl

SUITE = """
name: capitals
dataset: {dataset}
target: {{prompt: capitals, label: staging}}
evaluators: [contains, faithfulness]
thresholds: {{contains: 0.5}}
"""


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_worse_version_is_a_regression_and_equivalent_is_not(tmp_path: Path, seed: int) -> None:
    data = write_jsonl(tmp_path / "capitals.jsonl", fact_rows(seed))
    suite = parse_suite(SUITE.format(dataset=data), str(tmp_path / "suite.yaml"))
    settings = eval_settings(tmp_path / "home", evals={"seed": seed})

    async def scenario() -> None:
        async with local_evals(settings) as evals:
            good = await push(evals, "capitals", GOOD, "staging")
            worse = await push(evals, "capitals", WORSE)
            same = await push(evals, "capitals", EQUIVALENT)
            base = await evals.run_suite(suite)
            # the label was resolved once: the run used (and records) one version
            assert base.run.spec["target"] == {"prompt": "capitals", "version": good}
            assert base.run.spec["target_label"] == "staging"
            assert base.passed and base.scores["contains"].mean is not None
            assert base.scores["contains"].mean > 0.8

            def on(version: int) -> TargetSpec:
                return TargetSpec(prompt="capitals", version=version)

            bad = await evals.run_suite(suite, baseline=base.run.id, target=on(worse))
            assert bad.regressions == ["contains"] or set(bad.regressions) == {
                "contains",
                "faithfulness",
            }
            assert bad.scores["contains"].mean is not None
            assert bad.scores["contains"].mean < 0.2
            assert not bad.passed  # also below the threshold

            equal = await evals.run_suite(suite, baseline=base.run.id, target=on(same))
            assert equal.regressions == []
            # the answers did not all stay the same: the wording moves some of them
            assert good != same
            again = await evals.run_suite(suite, baseline=base.run.id, target=on(good))
            assert again.regressions == []
            diff = again.comparison
            assert diff is not None
            assert [d.evaluator for d in diff.differences] == ["contains", "faithfulness"]
            assert all(d.delta == 0 and d.paired == len(fact_rows(seed)) for d in diff.differences)

    asyncio.run(scenario())
