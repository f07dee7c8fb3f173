"""Online evaluation: a sample of live calls scored by chosen evaluators, the scores attached to
the calls' spans, and a drop in the score series found."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import select

from llmdeck.config import OnlineSettings
from llmdeck.evals import OnlineEvaluator
from llmdeck.evals.local import local_evals
from llmdeck.evals.online import picked, score_series
from llmdeck.observe import Score
from llmdeck.store.tables import events, scores

from .conftest import eval_settings


def test_sampled_calls_are_scored_once(tmp_path: Path, database_url: str) -> None:
    settings = eval_settings(tmp_path / "home", database_url)
    online = OnlineSettings(sample_rate=0.5, evaluators=({"length": {"max": 40}}, "json_valid"))

    async def scenario() -> None:
        async with local_evals(settings) as evals:
            assert evals.recorder is not None
            scorer = OnlineEvaluator(evals, online)
            for n in range(40):
                await evals.complete("chat", [
                    {"role": "system", "content": f"Fact {n}: the answer is {n}."},
                    {"role": "user", "content": f"What is the answer {n}?"},
                ])  # fmt: skip
            await asyncio.to_thread(evals.recorder.flush)
            first = await scorer.tick()
            assert await scorer.tick() == 0  # the cursor moved past them
            await asyncio.to_thread(evals.recorder.flush)
            rows = await evals.store.aread(
                lambda conn: list(conn.execute(select(scores)).mappings())
            )
            assert 8 <= first <= 32  # about half of 40
            assert len(rows) == 2 * first
            assert all(r["span_id"] and r["source"] == "evaluator" for r in rows)
            assert all(picked(r["trace_id"], 0.5) for r in rows)
            assert {r["name"] for r in rows} == {"length", "json_valid"}
            assert {r["value"] for r in rows if r["name"] == "json_valid"} == {0.0}

            hour = 3600
            start = (time.time() // hour - 5) * hour
            for bucket, value in enumerate([0.9, 0.9, 0.9, 0.5]):
                evals.recorder.record_score(
                    Score("t" * 32, "judge", "numeric", value, span_id="s" * 16,
                          source="evaluator", created_at=start + bucket * hour + 1)
                )  # fmt: skip
            await asyncio.to_thread(evals.recorder.flush)
            series = await score_series(evals, hours=6)
            assert [p["mean"] for p in series["series"]["judge"]] == [0.9, 0.9, 0.9, 0.5]
            (drop,) = [d for d in series["drops"] if d["name"] == "judge"]
            assert drop["t"] == start + 3 * hour and abs(drop["before"] - 0.9) < 1e-9
            await scorer.tick()
            await scorer.tick()  # reported once
            await asyncio.to_thread(evals.recorder.flush)
            found = await evals.store.aread(
                lambda conn: list(conn.execute(select(events)).mappings())
            )
            drops = [e for e in found if e["name"] == "evals.score_drop"]
            assert len(drops) == 1 and drops[0]["level"] == "warning"
            assert drops[0]["message"] == "judge: hourly mean 0.500, down from 0.900"

    asyncio.run(scenario())
