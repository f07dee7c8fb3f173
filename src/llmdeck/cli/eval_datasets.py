"""llmdeck eval datasets list | import | export | items | from-traces | delete"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from llmdeck.cli._output import config_option, errors, print_json, print_table
from llmdeck.cli.eval import eval_group, json_option, with_evals
from llmdeck.config import load_settings, parse_duration
from llmdeck.evals import (
    DatasetError,
    Evals,
    TraceFilter,
    items_from_traces,
    read_items,
    to_csv,
    to_jsonl,
)


@eval_group.group()
def datasets() -> None:
    """Named, versioned datasets (a version is immutable once a run used it)."""


@datasets.command("list")
@config_option
@json_option
def list_datasets(config_path: str | None, as_json_flag: bool) -> None:
    """Every dataset with its newest version and size."""
    found = with_evals(config_path, lambda evals: evals.datasets.list_datasets())
    if as_json_flag:
        print_json({"datasets": [d.__dict__ for d in found]})
        return
    rows = [[d.name, f"v{d.latest_version}", d.item_count, "yes" if d.locked else "",
             "draft" if d.draft else ""] for d in found]  # fmt: skip
    print_table(["dataset", "version", "items", "locked", ""], rows)


@datasets.command("import")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--description", default=None)
@config_option
@json_option
def import_items(
    name: str, file: Path, description: str | None, config_path: str | None, as_json_flag: bool
) -> None:
    """Add the items of a JSONL or CSV FILE to dataset NAME (created if new)."""
    try:
        items = read_items(file)
    except DatasetError as exc:
        raise click.UsageError(str(exc)) from None
    info = with_evals(
        config_path,
        lambda evals: evals.datasets.add(name, items, description=description, source=str(file)),
    )
    if as_json_flag:
        print_json(info.__dict__)
    else:
        click.echo(f"{name} v{info.latest_version}: {info.item_count} items ({len(items)} added)")


@datasets.command("export")
@click.argument("name")
@click.option("--version", type=int, default=None, help="Default: the newest.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@config_option
def export(
    name: str, version: int | None, fmt: str, out: Path | None, config_path: str | None
) -> None:
    """Write a dataset version as JSONL or CSV (to stdout, or --out)."""
    _, items = with_evals(config_path, lambda evals: evals.datasets.items(name, version))
    text = to_csv(items) if fmt == "csv" else to_jsonl(items)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        click.echo(f"{len(items)} items written to {out}", err=True)


@datasets.command("items")
@click.argument("name")
@click.option("--version", type=int, default=None)
@click.option("--limit", type=int, default=50, show_default=True)
@config_option
@json_option
def show_items(
    name: str, version: int | None, limit: int, config_path: str | None, as_json_flag: bool
) -> None:
    """The items of a dataset version."""
    chosen, items = with_evals(
        config_path, lambda evals: evals.datasets.items(name, version, limit=limit)
    )
    if as_json_flag:
        print_json({"version": chosen, "items": [i.to_dict() for i in items]})
        return
    rows = [[i.id, i.question[:60], str(i.expected or "")[:40]] for i in items]
    print_table(["id", "input", "expected"], rows, title=f"{name} v{chosen}")


@datasets.command("from-traces")
@click.argument("name")
@click.option("--model", default=None, help="Calls to this model alias.")
@click.option("--prompt", default=None, help="Calls that rendered this prompt.")
@click.option("--tag", default=None)
@click.option("--since", default=None, help="How far back, e.g. 1d, 12h.")
@click.option("--limit", type=int, default=100, show_default=True)
@config_option
@json_option
def from_traces(
    name: str,
    model: str | None,
    prompt: str | None,
    tag: str | None,
    since: str | None,
    limit: int,
    config_path: str | None,
    as_json_flag: bool,
) -> None:
    """Build (or grow) dataset NAME from recorded calls, newest first."""
    try:
        seconds = parse_duration(since) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    flt = TraceFilter(model=model, prompt=prompt, tag=tag, since=seconds, limit=limit)

    async def work(evals: Evals) -> tuple[int, object]:
        items = await items_from_traces(evals.store, flt)
        if not items:
            return 0, None
        return len(items), await evals.datasets.add(name, items, source="traces")

    count, info = with_evals(config_path, work)
    if as_json_flag:
        print_json({"added": count, "dataset": getattr(info, "__dict__", None)})
    elif count == 0:
        click.echo("no recorded calls match; nothing added")
    else:
        click.echo(f"{name}: {count} items from traces")


@datasets.command("delete")
@click.argument("name")
@config_option
def delete(name: str, config_path: str | None) -> None:
    """Delete a dataset (runs keep their results)."""
    with_evals(config_path, lambda evals: evals.datasets.delete(name))
    click.echo(f"{name} deleted")


@eval_group.command()
@click.option("--collection", required=True, help="The vector collection to draw chunks from.")
@click.option("--n", "count", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--dataset", default=None, help="Draft dataset name (default: COLLECTION-draft).")
@click.option("--model", default="chat", show_default=True, help="Model alias that drafts.")
@click.option("--seed", type=int, default=0, show_default=True)
@config_option
@json_option
def generate(
    collection: str,
    count: int,
    dataset: str | None,
    model: str,
    seed: int,
    config_path: str | None,
    as_json_flag: bool,
) -> None:
    """Draft question/answer items from a collection's chunks into a draft dataset to review
    (then `eval datasets export` it, edit, and `eval datasets import` the keepers)."""
    from llmdeck.evals.generate import draft, sample_chunks
    from llmdeck.server.embedder import background_runtime
    from llmdeck.vectors import CollectionNotFound

    settings = load_settings(config_path, os.environ)
    with background_runtime(settings) as runtime:
        try:
            chunks = sample_chunks(runtime.vectors.collection(collection), count, seed)
        except CollectionNotFound as exc:
            raise click.UsageError(exc.message) from None
    name = dataset or f"{collection}-draft"

    async def work(evals: Evals) -> tuple[Any, Any]:
        with Progress(TextColumn("drafting"), BarColumn(), MofNCompleteColumn(),
                      console=errors) as bar:  # fmt: skip
            task = bar.add_task("draft", total=len(chunks))
            drafted = await draft(evals, chunks, model, collection, lambda: bar.advance(task))
        info = None
        if drafted.items:
            info = await evals.datasets.add(
                name, drafted.items, source=f"generated from {collection}", draft=True
            )
        return drafted, info

    drafted, info = with_evals(config_path, work)
    result = {"dataset": name, "drafted": len(drafted.items), "skipped": drafted.skipped,
              "version": getattr(info, "latest_version", None)}  # fmt: skip
    if as_json_flag:
        print_json(result)
    else:
        click.echo(f"{name}: {len(drafted.items)} draft items from {len(chunks)} chunks"
                   + (f" ({len(drafted.skipped)} replies unreadable)" if drafted.skipped else "")
                   + "; review them with `llmdeck eval datasets export`")  # fmt: skip
