"""Metadata filters: the JSON form users write, parsed into a small tree that each backend
compiles (to numpy masks on the embedded engine, to SQL on pgvector).

The form is the one Chroma, Pinecone and MongoDB users know:

    {"source": "git"}                                    equality
    {"year": {"$gte": 2020, "$lt": 2024}}                ranges ($gt, $gte, $lt, $lte; numbers)
    {"lang": {"$in": ["en", "de"]}}                      sets ($in, $nin)
    {"draft": {"$ne": true}}                             inequality (also matches a missing field)
    {"$or": [{"source": "git"}, {"stars": {"$gt": 5}}]}  and / or ($and, $or)

Several keys in one object are all required. Values compared are strings, numbers or booleans
(a boolean never equals a number); a range on a field that is not a number does not match.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from llmdeck.vectors.types import VectorError

Scalar = str | int | float | bool
RangeOp = Literal["gt", "gte", "lt", "lte"]


@dataclass(frozen=True, slots=True)
class Eq:
    """`field == value`, or `field != value` (which a missing field also satisfies)."""

    field: str
    value: Scalar
    negate: bool = False


@dataclass(frozen=True, slots=True)
class In:
    """`field` is one of `values` (or, negated, none of them)."""

    field: str
    values: tuple[Scalar, ...]
    negate: bool = False


@dataclass(frozen=True, slots=True)
class Range:
    """`field <op> value` for a numeric field."""

    field: str
    op: RangeOp
    value: float


@dataclass(frozen=True, slots=True)
class And:
    """Every part holds."""

    parts: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one part holds."""

    parts: tuple[Filter, ...]


Filter = Eq | In | Range | And | Or

_RANGES: dict[str, RangeOp] = {"$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}


def parse_filter(raw: Any, where: str = "filter") -> Filter | None:
    """The filter tree for the JSON form (None for no filter); VectorError names the bad part."""
    if raw is None or raw == {}:
        return None
    return _parse(raw, where)


def _parse(raw: Any, where: str) -> Filter:
    if not isinstance(raw, dict) or not raw:
        raise VectorError(f"{where}: a filter is a non-empty JSON object", param=where)
    parts: list[Filter] = []
    for key, value in raw.items():
        path = f"{where}.{key}"
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                raise VectorError(f"{path}: needs a non-empty list of filters", param=path)
            subs = tuple(_parse(v, f"{path}[{i}]") for i, v in enumerate(value))
            parts.append(And(subs) if key == "$and" else Or(subs))
        elif key.startswith("$"):
            raise VectorError(f"{path}: unknown operator (use $and, $or)", param=path)
        elif isinstance(value, dict):
            parts.extend(_field_ops(key, value, path))
        else:
            parts.append(Eq(key, _scalar(value, path)))
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _field_ops(field: str, ops: dict[str, Any], where: str) -> list[Filter]:
    if not ops:
        raise VectorError(f"{where}: no operator given", param=where)
    out: list[Filter] = []
    for op, value in ops.items():
        path = f"{where}.{op}"
        if op in ("$eq", "$ne"):
            out.append(Eq(field, _scalar(value, path), negate=op == "$ne"))
        elif op in ("$in", "$nin"):
            if not isinstance(value, list) or not value:
                raise VectorError(f"{path}: needs a non-empty list", param=path)
            values = tuple(_scalar(v, f"{path}[{i}]") for i, v in enumerate(value))
            out.append(In(field, values, negate=op == "$nin"))
        elif op in _RANGES:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise VectorError(f"{path}: a range needs a number", param=path)
            out.append(Range(field, _RANGES[op], float(value)))
        else:
            known = "$eq, $ne, $gt, $gte, $lt, $lte, $in, $nin"
            raise VectorError(f"{path}: unknown operator; known: {known}", param=path)
    return out


def _scalar(value: Any, where: str) -> Scalar:
    if isinstance(value, float) and not math.isfinite(value):
        raise VectorError(f"{where}: not a finite number", param=where)
    if isinstance(value, str | int | float | bool):
        return value
    raise VectorError(f"{where}: compare with a string, number or boolean", param=where)


def fields_of(flt: Filter) -> set[str]:
    """Every metadata field the filter reads."""
    if isinstance(flt, And | Or):
        return set().union(*(fields_of(p) for p in flt.parts))
    return {flt.field}
