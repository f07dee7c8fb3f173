"""llmdeck vectors list | create | stats | tune | build | optimize | migrate | rollback | drop
| golden | quality

The CLI opens the collections itself (the gateway runs in-process for embeddings). The
embedded engine lets one process write a collection: while `llmdeck serve` has it open, use
the server's /api/collections routes instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from llmdeck.cli._output import (
    config_option,
    errors,
    json_option,
    print_json,
    print_table,
    progress,
)
from llmdeck.config import IndexSettings, load_settings
from llmdeck.server.embedder import background_runtime
from llmdeck.vectors import CollectionNotFound, VectorError, VectorService, age


@contextmanager
def _service(config_path: str | None) -> Iterator[VectorService]:
    settings = load_settings(config_path, os.environ)
    with background_runtime(settings) as runtime:
        yield runtime.vectors


class _Group(click.Group):
    """Bad input (a malformed filter or file line, an unknown collection) is a usage error:
    exit code 2, with the message naming what is wrong."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (VectorError, CollectionNotFound) as exc:
            raise click.UsageError(exc.message, ctx) from None


@click.group(cls=_Group)
def vectors() -> None:
    """Vector collections: list, stats, tune, optimize, migrate embeddings, roll back."""


@vectors.command("list")
@config_option
@json_option
def list_(config_path: str | None, as_json: bool) -> None:
    """List collections."""
    with _service(config_path) as service:
        rows = service.list()
    if as_json:
        print_json({"collections": rows})
        return
    columns = ["name", "version", "backend", "model", "dim", "metric", "index", "tuned"]
    table = [[*(r[c] for c in columns[:-1]), age(r["tuned_at"])] for r in rows]
    print_table(columns, table)


@vectors.command()
@click.argument("name")
@click.option("--model", default=None, help="Embedding model alias (default: vectors.model).")
@click.option("--dim", type=int, default=None, help="Dimension (default: asked of the model).")
@click.option("--metric", type=click.Choice(["cosine", "dot", "l2"]), default=None)
@click.option("--index", "index_type", type=click.Choice(["hnsw", "ivfflat", "flat"]), default=None)
@click.option("--backend", type=click.Choice(["embedded", "pgvector"]), default=None)
@config_option
@json_option
def create(
    name: str,
    model: str | None,
    dim: int | None,
    metric: Any,
    index_type: Any,
    backend: str | None,
    config_path: str | None,
    as_json: bool,
) -> None:
    """Create an empty collection NAME."""
    with _service(config_path) as service:
        index = None
        if index_type:
            index = service.settings.index.model_copy(update={"type": index_type})
        service.vectors.create(
            name, model=model, dim=dim, metric=metric, index=index, backend=backend
        )
        _show_stats(service.stats(name), as_json)


@vectors.command()
@click.argument("name")
@config_option
@json_option
def stats(name: str, config_path: str | None, as_json: bool) -> None:
    """Rows, size on disk, index settings and when they were last tuned."""
    with _service(config_path) as service:
        _show_stats(service.stats(name), as_json)


def _show_stats(found: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(found)
        return
    index = found["index_settings"]
    params = (
        f"m={index['m']} ef_construction={index['ef_construction']} ef_search={index['ef_search']}"
        if index["type"] == "hnsw"
        else f"lists={index['lists']} probes={index['probes']}"
    )
    versions = ", ".join(f"v{v['version']} {v['model']} ({v['state']})" for v in found["versions"])
    rows = [
        ["collection", f"{found['name']} (version {found['version']}, {found['backend']})"],
        ["model", f"{found['model']} ({found['dim']} dimensions, {found['metric']})"],
        ["rows", f"{found['rows']:,} ({found['deleted']:,} deleted awaiting optimize)"],
        ["size on disk", _bytes(found["bytes"])],
        ["index", f"{index['type']} {params}; built: {found['index']['built']}"],
        ["last tuned", age(found["tuned_at"])],
        ["versions", versions],
        ["quality", _quality_line(found["quality"])],
    ]
    print_table(["", ""], rows)


def _quality_line(point: dict[str, Any] | None) -> str:
    if point is None:
        return "no golden queries measured"
    return f"recall@{point['k']} {point['recall']:.3f}, MRR {point['mrr']:.3f} ({age(point['at'])})"


def _bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


@vectors.command()
@click.argument("name")
@click.option("--target-recall", type=float, default=0.95, show_default=True)
@click.option("--k", type=int, default=10, show_default=True)
@click.option("--queries", type=int, default=200, show_default=True, help="Sampled queries.")
@config_option
@json_option
def tune(
    name: str, target_recall: float, k: int, queries: int, config_path: str | None, as_json: bool
) -> None:
    """Pick the fastest search setting that meets the target recall@k, and record it."""
    with _service(config_path) as service, progress() as bar:
        task = bar.add_task("tuning", total=None, extra="")
        found = service.tune(
            name,
            target_recall=target_recall,
            k=k,
            queries=queries,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if as_json:
        print_json(found.to_dict())
    else:
        rows = [
            [
                t.setting,
                f"{t.recall:.3f}",
                f"{t.qps:,.0f}",
                f"{t.p95_ms:.2f}",
                "<- chosen" if t == found.chosen else "",
            ]
            for t in found.trials
        ]
        print_table([found.parameter, f"recall@{k}", "queries/s", "p95 ms", ""], rows)
        if found.chosen is None:
            click.echo(
                f"no setting reached recall {target_recall}; kept the best recall. "
                "Rebuild with a larger m: llmdeck vectors build NAME --m 32",
                err=True,
            )
    if not found.met:
        sys.exit(1)


@vectors.command()
@click.argument("name")
@click.option("--type", "index_type", type=click.Choice(["hnsw", "ivfflat", "flat"]), default=None)
@click.option("--m", type=int, default=None, help="HNSW links per node.")
@click.option("--ef-construction", type=int, default=None)
@click.option("--ef-search", type=int, default=None)
@click.option("--lists", type=int, default=None, help="IVF lists.")
@click.option("--probes", type=int, default=None, help="IVF lists searched.")
@config_option
@json_option
def build(name: str, config_path: str | None, as_json: bool, **params: Any) -> None:
    """Build (or rebuild) the ANN index with new parameters."""
    with _service(config_path) as service:
        current = service.vectors.spec(name).index.model_dump()
        renamed = {"type" if k == "index_type" else k: v for k, v in params.items()}
        settings = IndexSettings.model_validate(
            {**current, **{k: v for k, v in renamed.items() if v is not None}}
        )
        with errors.status(f"building the {settings.type} index of {name}"):
            service.build(name, settings)
        _show_stats(service.stats(name), as_json)


@vectors.command()
@click.argument("name")
@config_option
@json_option
def optimize(name: str, config_path: str | None, as_json: bool) -> None:
    """Compact: drop deleted rows and rebuild the index."""
    with _service(config_path) as service, errors.status(f"optimizing {name}"):
        result = service.optimize(name)
    if as_json:
        print_json(result)
        return
    before, after = result["before"], result["after"]
    click.echo(
        f"{name}: {before['rows']:,} rows; {before['deleted']:,} deleted rows dropped; "
        f"{_bytes(before['bytes'])} -> {_bytes(after['bytes'])}"
    )
