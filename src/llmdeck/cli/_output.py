"""Output helpers: human tables or --json, progress bars, and the shared options."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

F = TypeVar("F", bound=Callable[..., Any])

console = Console()
errors = Console(stderr=True)


def config_option(fn: F) -> F:
    """--config FILE, defaulting to $LLMDECK_CONFIG or ./llmdeck.yaml."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="llmdeck.yaml to use (default: $LLMDECK_CONFIG, then ./llmdeck.yaml).",
    )(fn)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def progress() -> Progress:
    """A progress bar on stderr: description, bar, percent, a free `extra` field, elapsed."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[extra]}"),
        TimeElapsedColumn(),
        console=errors,
        transient=False,
    )


def json_value(text: str | None, option: str) -> Any:
    """An option's JSON value (None when not given); a usage error names the option."""
    if not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=option) from None


def print_json(value: Any) -> None:
    """Machine-readable output."""
    click.echo(orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2).decode())


def print_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None
) -> None:
    """A human table."""
    table = Table(title=title, show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
