"""Dataset items and their files: JSONL and CSV in and out, with errors that name file and line.

A row holds `input` (a question or any JSON) or `variables` (for a prompt target), and as needed
`expected` (the reference answer), `context` (reference passages), `relevant_ids` (the document
ids a retriever should find) and `metadata`. An `id` is kept; rows without one get a stable id
from their content, so two runs over the same file pair their items.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from llmdeck.errors import LlmdeckError

FIELDS = ("id", "input", "variables", "expected", "context", "relevant_ids", "metadata")


class DatasetError(LlmdeckError):
    """A dataset file or row is unusable; the message names the file and line."""


@dataclass(frozen=True)
class Item:
    """One case to evaluate."""

    id: str
    input: Any = None
    variables: dict[str, Any] = field(default_factory=dict)
    expected: Any = None
    context: list[str] = field(default_factory=list)
    relevant_ids: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def question(self) -> str:
        """The item's question as text: `input`, else a `question` variable, else the
        variables as JSON."""
        if isinstance(self.input, str):
            return self.input
        if self.input is not None:
            return orjson.dumps(self.input).decode()
        for key in ("question", "query", "input"):
            if isinstance(self.variables.get(key), str):
                return str(self.variables[key])
        return orjson.dumps(self.variables).decode() if self.variables else ""

    def to_dict(self) -> dict[str, Any]:
        """The JSONL row."""
        row: dict[str, Any] = {"id": self.id}
        if self.input is not None:
            row["input"] = self.input
        if self.variables:
            row["variables"] = self.variables
        if self.expected is not None:
            row["expected"] = self.expected
        if self.context:
            row["context"] = self.context
        if self.relevant_ids:
            row["relevant_ids"] = self.relevant_ids
        if self.metadata:
            row["metadata"] = self.metadata
        return row


def item_from_row(row: Any, where: str) -> Item:
    """An Item from a parsed row; DatasetError names `where` and the field."""
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: a row must be a JSON object")
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        raise DatasetError(f"{where}: unknown field {unknown[0]!r}; known: {', '.join(FIELDS)}")
    if row.get("input") is None and not row.get("variables"):
        raise DatasetError(f'{where}: a row needs "input" or "variables"')
    variables = row.get("variables") or {}
    if not isinstance(variables, dict):
        raise DatasetError(f'{where}: "variables" must be an object')
    context = row.get("context") or []
    if isinstance(context, str):
        context = [context]
    if not isinstance(context, list) or not all(isinstance(c, str) for c in context):
        raise DatasetError(f'{where}: "context" must be a string or a list of strings')
    relevant = row.get("relevant_ids") or []
    if not isinstance(relevant, list):
        raise DatasetError(f'{where}: "relevant_ids" must be a list')
    metadata = row.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise DatasetError(f'{where}: "metadata" must be an object')
    given = row.get("id")
    if given is not None and not isinstance(given, str | int):
        raise DatasetError(f'{where}: "id" must be a string')
    return Item(
        id=str(given) if given is not None else content_id(row),
        input=row.get("input"),
        variables=variables,
        expected=row.get("expected"),
        context=list(context),
        relevant_ids=[str(r) for r in relevant],
        metadata=metadata,
    )


def content_id(row: dict[str, Any]) -> str:
    """A stable id from a row's content (without its id)."""
    body = {k: v for k, v in row.items() if k != "id"}
    return hashlib.sha1(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def read_jsonl(text: str, source: str) -> list[Item]:
    """Items from JSONL text; errors name `source:line`."""
    items: list[Item] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise DatasetError(f"{where}: invalid JSON: {exc}") from None
        item = item_from_row(row, where)
        if item.id in seen:
            raise DatasetError(f"{where}: id {item.id!r} is used twice")
        seen.add(item.id)
        items.append(item)
    return items


_JSON_COLUMNS = ("variables", "context", "relevant_ids", "metadata")


def read_csv(text: str, source: str) -> list[Item]:
    """Items from CSV with a header row. `variables`, `context`, `relevant_ids` and `metadata`
    cells hold JSON; other columns not in the item fields become variables."""
    reader = csv.DictReader(io.StringIO(text))
    items: list[Item] = []
    for number, cells in enumerate(reader, 2):
        where = f"{source}:{number}"
        row: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in cells.items():
            if key is None or value is None or value == "":
                continue
            if key in _JSON_COLUMNS:
                try:
                    row[key] = orjson.loads(value)
                except orjson.JSONDecodeError:
                    raise DatasetError(f"{where}: column {key!r} must hold JSON") from None
            elif key in FIELDS:
                row[key] = value
            else:
                extra[key] = value
        if extra:
            row["variables"] = {**extra, **(row.get("variables") or {})}
        items.append(item_from_row(row, where))
    return items


def read_items(path: Path) -> list[Item]:
    """Items from a .jsonl or .csv file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None
    if path.suffix.lower() == ".csv":
        return read_csv(text, str(path))
    return read_jsonl(text, str(path))


def to_jsonl(items: Iterable[Item]) -> str:
    """JSONL text, one item a line."""
    return "".join(orjson.dumps(item.to_dict()).decode() + "\n" for item in items)


def to_csv(items: Iterable[Item]) -> str:
    """CSV text with a header; structured cells as JSON."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(FIELDS))
    writer.writeheader()
    for item in items:
        row = item.to_dict()
        writer.writerow(
            {
                key: (orjson.dumps(value).decode() if not isinstance(value, str) else value)
                for key, value in row.items()
            }
        )
    return out.getvalue()
