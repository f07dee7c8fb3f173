"""/api/datasets and /api/experiments over real HTTP (SQLite and PostgreSQL), an experiment run
as a job; the promotion gate refusing a protected label and naming the failing metrics."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from llmdeck.testing.server import ServerThread

from .conftest import EQUIVALENT, GOOD, WORSE, eval_settings, fact_rows, write_jsonl


def wait_done(api: httpx.Client, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = api.get(f"/api/experiments/{run_id}").json()
        if run["status"] not in ("queued", "running"):
            return dict(run)
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish: {run}")


def test_datasets_and_experiments_over_http(tmp_path: Path, database_url: str) -> None:
    settings = eval_settings(tmp_path / "home", database_url)
    with ServerThread(settings) as server:
        api = httpx.Client(base_url=server.url, timeout=30)
        rows = fact_rows(5, 12)
        created = api.post("/api/datasets", json={"name": "caps", "items": rows[:6]})
        assert created.status_code == 201, created.text
        jsonl = "".join(__import__("orjson").dumps(r).decode() + "\n" for r in rows[6:])
        imported = api.post("/api/datasets/caps/import", content=jsonl)
        assert imported.json()["imported"] == 6 and imported.json()["item_count"] == 12
        bad = api.post("/api/datasets/caps/import", content='{"input": 1}\n{oops\n')
        assert bad.status_code == 400 and "body:2: invalid JSON" in bad.json()["error"]["message"]
        bad_item = api.post("/api/datasets/caps/items", json={"items": [{"expected": "x"}]})
        assert bad_item.status_code == 400 and "items[0]" in bad_item.json()["error"]["message"]
        listed = api.get("/api/datasets").json()["datasets"]
        assert [(d["name"], d["item_count"]) for d in listed] == [("caps", 12)]
        page = api.get("/api/datasets/caps/items", params={"limit": 5, "offset": 10}).json()
        assert [i["id"] for i in page["items"]] == ["s5-10", "s5-11"]
        exported = api.get("/api/datasets/caps/export", params={"format": "csv"})
        assert exported.headers["content-type"].startswith("text/csv")
        assert exported.text.count("\n") == 13

        for messages, labels in [(GOOD, ["staging"]), (WORSE, [])]:
            spec = {"name": "capitals", "messages": messages, "model": "chat", "labels": labels}
            assert api.post("/api/prompts", json=spec).status_code == 201
        body = {
            "name": "caps-exp", "dataset": "caps",
            "target": {"prompt": "capitals", "label": "staging"},
            "evaluators": ["contains", {"length": {"max": 400}}], "thresholds": {"contains": 0.5},
        }  # fmt: skip
        started = api.post("/api/experiments", json=body)
        assert started.status_code == 202, started.text
        first = wait_done(api, started.json()["id"])
        assert first["status"] == "passed" and first["done_count"] == 12
        assert first["scores"]["contains"]["mean"] == 1.0
        assert len(first["results"]) == 12 and first["results"][0]["trace_id"]
        worse = {**body, "target": {"prompt": "capitals", "version": 2}, "baseline": first["id"]}
        second = wait_done(api, api.post("/api/experiments", json=worse).json()["id"])
        assert second["status"] == "regressed"
        compared = api.get("/api/experiments/compare", params={"a": first["id"], "b": second["id"]})
        assert compared.json()["regressions"] == ["contains"]
        runs = api.get("/api/experiments").json()["experiments"]
        assert [r["id"] for r in runs] == [second["id"], first["id"]]
        # each item was a trace with its scores attached
        trace = api.get(f"/api/traces/{first['results'][0]['trace_id']}")
        assert trace.status_code == 200
        names = {s["name"] for s in trace.json()["scores"]}
        assert {"contains", "length"} <= names
        assert api.get("/api/datasets/caps").json()["locked"] is True
        assert api.get("/api/experiments/online").json()["series"] == {}  # no online scoring

        refused = api.post("/api/experiments", json={**body, "evaluators": ["nope"]})
        assert refused.status_code == 400 and "evaluators[0]" in refused.text
        code = api.post("/api/experiments", json={**body, "evaluators": ["os:getcwd"]})
        assert code.status_code == 400 and "not allowed" in code.text
        missing = api.post("/api/experiments", json={**body, "dataset": "nothing"})
        assert missing.status_code == 404


def test_promotion_needs_a_passing_suite(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "caps.jsonl", fact_rows(9, 10))
    suite = {
        "name": "caps-gate", "dataset": "caps.jsonl", "target": {"prompt": "capitals"},
        "evaluators": ["contains", "faithfulness"],
        "thresholds": {"contains": 0.8, "faithfulness": 0.5},
    }  # fmt: skip
    (tmp_path / "gate.yaml").write_text(yaml.safe_dump(suite))
    config = tmp_path / "llmdeck.yaml"
    config.write_text("{}")
    settings = eval_settings(
        tmp_path / "home",
        source=str(config),
        evals={"promotion": [{"prompt": "capitals", "label": "production", "suite": "gate.yaml"}]},
    )
    with ServerThread(settings) as server:
        api = httpx.Client(base_url=server.url, timeout=30)
        for messages in (GOOD, WORSE, EQUIVALENT):
            spec = {"name": "capitals", "messages": messages, "model": "chat"}
            assert api.post("/api/prompts", json=spec).status_code == 201
        refused = api.put("/api/prompts/capitals/labels/production", json={"version": 2})
        assert refused.status_code == 403, refused.text
        message = refused.json()["error"]["message"]
        assert "contains: mean 0.0000 < 0.8" in message and "faithfulness" in message
        assert refused.json()["error"]["code"] == "promotion_refused"
        allowed = api.put("/api/prompts/capitals/labels/production", json={"version": 1})
        assert allowed.status_code == 200, allowed.text
        # other labels are not gated
        assert api.put("/api/prompts/capitals/labels/staging", json={"version": 2}).is_success


def test_an_experiment_whose_job_was_lost_is_run_by_the_sweep(tmp_path: Path) -> None:
    import asyncio

    from sqlalchemy import update

    from llmdeck.evals import ExperimentRequest, Experiments, Item
    from llmdeck.evals.experiments import SWEEP
    from llmdeck.evals.local import local_evals
    from llmdeck.jobs import LocalJobs
    from llmdeck.store.tables import eval_runs

    settings = eval_settings(tmp_path / "home", jobs={"drain_timeout": 0})

    async def scenario() -> str:
        async with local_evals(settings) as evals:
            await evals.datasets.add("d", [Item("a", "Where is Paris?", expected="France",
                                                context=["Paris is in France."])])  # fmt: skip
            lost = LocalJobs(settings.jobs)  # never works its queue: like a server that died
            Experiments(evals, lost).register()
            request = ExperimentRequest(name="x", dataset="d", target={"model": "chat"},
                                        evaluators=["contains"])  # fmt: skip
            run = await Experiments(evals, lost).start(request)
            assert run.status == "queued"
            jobs = LocalJobs(settings.jobs)
            Experiments(evals, jobs).register()
            await jobs.start(work=True)
            await jobs.enqueue(SWEEP)  # too early: a queued run gets a minute first
            await asyncio.sleep(0.3)
            assert (await evals.runs.get(run.id)).status == "queued"

            def age(conn: object) -> None:
                conn.execute(  # type: ignore[attr-defined]
                    update(eval_runs).where(eval_runs.c.id == run.id).values(created_at=0)
                )

            await evals.store.awrite(age)
            await jobs.enqueue(SWEEP)
            for _ in range(100):
                status = (await evals.runs.get(run.id)).status
                if status not in ("queued", "running"):
                    break
                await asyncio.sleep(0.1)
            await jobs.close()
            await lost.close()
            return status

    assert asyncio.run(scenario()) == "passed"


def test_bad_promotion_suites_and_online_evaluators_stop_the_server_early(tmp_path: Path) -> None:
    import pytest

    from llmdeck.errors import ConfigError
    from llmdeck.server import build_runtime

    gate = {"promotion": [{"prompt": "p", "suite": "missing.yaml"}]}
    with pytest.raises(ConfigError, match=r"evals\.promotion\[0\]\.suite: .*cannot read"):
        build_runtime(eval_settings(tmp_path / "a", evals=gate))
    online = {"online": {"evaluators": ["contains", "nonsense"]}}
    with pytest.raises(ConfigError, match=r"evals\.online\.evaluators\[1\]: unknown evaluator"):
        build_runtime(eval_settings(tmp_path / "b", evals=online))
