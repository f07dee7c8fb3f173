"""llmdeck vectors upsert | search"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import orjson

from llmdeck.cli._output import (
    config_option,
    json_option,
    json_value,
    print_json,
    print_table,
    progress,
)
from llmdeck.cli.vectors import _service, vectors
from llmdeck.vectors import Item, VectorError

BATCH = 256


def read_items(file: Path) -> list[Item]:
    """Items from JSONL rows {"id", "text", "metadata"?, "vector"?}; errors name the line."""
    items = []
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{file}:{number}"
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise VectorError(f"{where}: invalid JSON: {exc}") from None
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            raise VectorError(f'{where}: each line needs a string "id"')
        metadata = row.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise VectorError(f'{where}: "metadata" must be an object')
        items.append(Item(row["id"], str(row.get("text") or ""), metadata, row.get("vector")))
    return items


@vectors.command()
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", default=None, help="The model that made the given vectors, if any.")
@config_option
@json_option
def upsert(
    name: str, file: Path, model: str | None, config_path: str | None, as_json: bool
) -> None:
    """Insert or replace items from a JSONL FILE of {"id", "text", "metadata", "vector"?}
    (items without a vector are embedded with the collection's model)."""
    items = read_items(file)
    count, tokens, cost = 0, 0, 0.0
    with _service(config_path) as service, progress() as bar:
        task = bar.add_task(f"upserting into {name}", total=len(items), extra="")
        for start in range(0, len(items), BATCH):
            written = service.ingest(name, items[start : start + BATCH], model=model)
            count, tokens, cost = (
                count + written.count,
                tokens + written.tokens,
                cost + written.cost,
            )
            bar.update(task, completed=start + written.count, extra=f"{tokens:,} tokens")
    result = {"upserted": count, "tokens": tokens, "cost": cost}
    if as_json:
        print_json(result)
    else:
        click.echo(f"{name}: {count:,} items upserted ({tokens:,} tokens, ${cost:.4f})")


@vectors.command()
@click.argument("name")
@click.argument("query")
@click.option("--k", type=int, default=10, show_default=True)
@click.option("--mode", type=click.Choice(["vector", "keyword", "hybrid"]), default="vector")
@click.option("--fusion", type=click.Choice(["rrf", "weighted"]), default="rrf")
@click.option("--alpha", type=float, default=0.5, show_default=True, help="Weighted: vector share.")
@click.option(
    "--filter", "filter_json", default=None, help='Metadata filter, e.g. \'{"lang": "en"}\'.'
)
@config_option
@json_option
def search(
    name: str,
    query: str,
    k: int,
    mode: Any,
    fusion: Any,
    alpha: float,
    filter_json: str | None,
    config_path: str | None,
    as_json: bool,
) -> None:
    """Search NAME for QUERY."""
    flt = json_value(filter_json, "--filter")
    with _service(config_path) as service:
        hits = service.vectors.get(name).search(
            query, k=k, filter=flt, mode=mode, fusion_method=fusion, alpha=alpha
        )
    if as_json:
        print_json({"hits": [h.to_dict() for h in hits]})
        return
    rows = [[h.id, f"{h.score:.4f}", h.text[:80], orjson.dumps(h.metadata).decode()] for h in hits]
    print_table(["id", "score", "text", "metadata"], rows)
