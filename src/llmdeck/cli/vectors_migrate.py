"""llmdeck vectors migrate | rollback | drop | golden | quality"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import click
import orjson

from llmdeck.cli._output import (
    config_option,
    json_option,
    print_json,
    print_table,
    progress,
)
from llmdeck.cli.vectors import _service, vectors
from llmdeck.vectors import Plan, VectorError, VectorService, age, parse_golden


@vectors.command()
@click.argument("name")
@click.option("--model", default=None, help="The new embedding model alias.")
@click.option("--resume", is_flag=True, help="Continue an interrupted migration.")
@click.option("--force", is_flag=True, help="Switch even if retrieval quality falls.")
@click.option(
    "--max-drop",
    type=float,
    default=0.0,
    show_default=True,
    help="Allowed fall in recall@k and MRR on the golden queries.",
)
@click.option("--dim", type=int, default=None, help="New dimension (default: asked of the model).")
@config_option
@json_option
def migrate(
    name: str,
    model: str | None,
    resume: bool,
    force: bool,
    max_drop: float,
    dim: int | None,
    config_path: str | None,
    as_json: bool,
) -> None:
    """Re-embed NAME with --model into a shadow version, compare golden queries, and switch if
    quality holds. Ctrl+C interrupts; --resume continues. Exits 1 if not switched."""
    if bool(model) == resume:
        raise click.UsageError("give --model M to start a migration, or --resume to continue one")
    with _service(config_path) as service:
        if model:
            service.migrations.start(name, model, dim=dim)
        held = service.migrations.status(name)
        if resume and force and held and held["state"] == "held":
            result = service.migrations.switch(name)
        else:
            result = _run_with_progress(service, name, Plan(force=force, max_drop=max_drop))
    if as_json:
        print_json(result)
    else:
        _report(name, result)
    if result["state"] != "switched":
        sys.exit(1)


def _run_with_progress(service: VectorService, name: str, plan: Plan) -> dict[str, Any]:
    stop = threading.Event()
    outcome: dict[str, Any] = {}
    with progress() as bar:
        task = bar.add_task(f"re-embedding {name}", total=None, extra="")

        def show(state: dict[str, Any]) -> None:
            extra = f"{state['tokens']:,} tokens, ${state['cost']:.4f}"
            bar.update(task, completed=state["done"], total=state["total"], extra=extra)

        def work() -> None:
            try:
                outcome["result"] = service.migrations.run(name, plan, stop=stop, progress=show)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                outcome["error"] = exc

        worker = threading.Thread(target=work, name="llmdeck-migrate")
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.2)
        except KeyboardInterrupt:
            stop.set()
            worker.join()
    if "error" in outcome:
        raise outcome["error"]
    result: dict[str, Any] = outcome["result"]
    return result


def _report(name: str, result: dict[str, Any]) -> None:
    state = result["state"]
    spent = f"{result['done']:,} items, {result['tokens']:,} tokens, ${result['cost']:.4f}"
    if state == "interrupted":
        click.echo(f"interrupted after {spent}; continue: llmdeck vectors migrate {name} --resume")
        return
    comparison = result["comparison"] or {}
    before, after = comparison.get("before"), comparison.get("after")
    if before and after:
        click.echo(
            f"golden queries ({comparison['golden_queries']}): recall@{before['k']} "
            f"{before['recall']:.3f} -> {after['recall']:.3f}, MRR {before['mrr']:.3f} -> "
            f"{after['mrr']:.3f}"
        )
    if state == "switched":
        click.echo(
            f"{name} now serves version {result['target_version']} ({result['model']}); {spent}. "
            f"Undo: llmdeck vectors rollback {name}"
        )
    else:
        why = "no golden queries to compare" if not before else "retrieval quality fell"
        click.echo(
            f"held: {why}; {name} still serves version {result['source_version']}. "
            f"Switch anyway: llmdeck vectors migrate {name} --resume --force "
            f"(or drop it: llmdeck vectors drop {name} --version {result['target_version']})",
            err=True,
        )


@vectors.command()
@click.argument("name")
@config_option
def rollback(name: str, config_path: str | None) -> None:
    """Serve the previous version of NAME again (atomic; the newer one is kept)."""
    with _service(config_path) as service:
        version = service.migrations.rollback(name)
    click.echo(f"{name} now serves version {version}")


@vectors.command()
@click.argument("name")
@click.option("--version", type=int, default=None, help="Drop only this (not serving) version.")
@click.option("--yes", is_flag=True, help="Do not ask.")
@config_option
def drop(name: str, version: int | None, yes: bool, config_path: str | None) -> None:
    """Delete a collection (or one of its versions) and its data."""
    what = f"{name} version {version}" if version else f"{name} and all its versions"
    if not yes:
        click.confirm(f"delete {what}?", abort=True)
    with _service(config_path) as service:
        dropped = service.vectors.drop(name, version)
    click.echo(f"dropped {name}: versions {', '.join(map(str, dropped))}")


@vectors.command()
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_option
def golden(name: str, file: Path, config_path: str | None) -> None:
    """Set NAME's golden queries from a JSONL FILE of {"query", "relevant_ids", "id"?}."""
    rows = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise VectorError(f"{file}:{number}: invalid JSON: {exc}") from None
    queries = parse_golden(rows)
    with _service(config_path) as service:
        service.vectors.alias(name)
        count = service.quality.set_golden(name, queries)
        score = service.quality.measure(service.vectors.get(name), "manual")
    click.echo(f"{name}: {count} golden queries")
    if score is not None:
        click.echo(f"recall@{score.k} {score.recall:.3f}, MRR {score.mrr:.3f}")


@vectors.command()
@click.argument("name")
@click.option("--limit", type=int, default=20, show_default=True)
@config_option
@json_option
def quality(name: str, limit: int, config_path: str | None, as_json: bool) -> None:
    """Retrieval-quality history (recall@k, MRR), drift and events of NAME."""
    with _service(config_path) as service:
        service.vectors.alias(name)
        found = {
            "points": service.quality.history(name, limit),
            "drift": service.quality.drift_history(name, limit),
            "events": service.quality.events(name, limit),
        }
    if as_json:
        print_json(found)
        return
    print_table(
        ["when", "version", "trigger", "recall", "MRR"],
        [
            [age(p["at"]), p["version"], p["trigger"], f"{p['recall']:.3f}", f"{p['mrr']:.3f}"]
            for p in found["points"]
        ],
        title="quality",
    )
    print_table(
        ["when", "sample", "centroid shift", "nn distance", "baseline"],
        [
            [
                age(d["at"]),
                d["sample"],
                f"{d['centroid_shift']:.3f}",
                f"{d['nn_distance']:.3f}",
                f"{d['baseline_nn_distance']:.3f}",
            ]
            for d in found["drift"]
        ],
        title="drift",
    )
    for event in found["events"]:
        click.echo(f"{age(event['at'])}: {event['kind']}: {event['message']}")
