"""Filters and full-text queries as PostgreSQL SQL over a `metadata jsonb` column.

Equality and sets use jsonb containment (`@>`), which compares JSON types as JSON does (a
boolean never equals a number, 1 equals 1.0) and can use a GIN index; ranges read numbers only.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from llmdeck.vectors.filters import And, Eq, Filter, Or, Range

_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_WORD = re.compile(r"\w+", re.UNICODE)


def filter_sql(flt: Filter, params: list[Any]) -> str:
    """A boolean SQL expression for `flt`, appending its parameters to `params`."""
    if isinstance(flt, And | Or):
        glue = " AND " if isinstance(flt, And) else " OR "
        return "(" + glue.join(filter_sql(p, params) for p in flt.parts) + ")"
    if isinstance(flt, Range):
        params.extend([flt.field, flt.field, flt.value])
        number = (
            "CASE WHEN jsonb_typeof(metadata -> %s) = 'number' THEN (metadata ->> %s)::float8 END"
        )
        return f"({number}) {_OPS[flt.op]} %s"
    values = (flt.value,) if isinstance(flt, Eq) else flt.values
    params.append([orjson.dumps({flt.field: v}).decode() for v in values])
    found = "metadata @> ANY(%s::jsonb[])"
    return f"NOT ({found})" if flt.negate else found


def tsquery_text(text: str) -> str | None:
    """A `to_tsquery` string matching any word of `text` (words only: no operators survive)."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))
    return " | ".join(words) or None
