"""Metadata kept column-wise in memory, so that a filter over 100,000 rows is a few numpy
comparisons (tens of microseconds) rather than a database query on every search.

Each field has up to three typed columns, as a payload index would: numbers (float64, NaN when
absent), strings (dictionary codes, -1 when absent) and booleans (-1 absent, 0, 1). Values of
other types (lists, objects) are stored with the item but are not filterable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from llmdeck.vectors.filters import And, Eq, Filter, Or, Range, Scalar

Mask = npt.NDArray[np.bool_]


class _Field:
    def __init__(self, capacity: int) -> None:
        self.num = np.full(capacity, np.nan)
        self.code = np.full(capacity, -1, dtype=np.int32)
        self.flag = np.full(capacity, -1, dtype=np.int8)

    def grow(self, capacity: int) -> None:
        extra = capacity - len(self.num)
        self.num = np.concatenate([self.num, np.full(extra, np.nan)])
        self.code = np.concatenate([self.code, np.full(extra, -1, dtype=np.int32)])
        self.flag = np.concatenate([self.flag, np.full(extra, -1, dtype=np.int8)])


class Columns:
    """Typed metadata columns by slot (the position of a vector in the engine)."""

    def __init__(self) -> None:
        self.capacity = 0
        self.fields: dict[str, _Field] = {}
        self.codes: dict[str, int] = {}

    def set(self, slot: int, metadata: dict[str, Any]) -> None:
        """Record the metadata of `slot` (a new slot: it was empty)."""
        if slot >= self.capacity:
            self._grow(max(slot + 1, self.capacity * 2, 1024))
        for key, value in metadata.items():
            column = self.fields.get(key)
            if column is None:
                column = self.fields[key] = _Field(self.capacity)
            if isinstance(value, bool):
                column.flag[slot] = int(value)
            elif isinstance(value, int | float):
                column.num[slot] = float(value)
            elif isinstance(value, str):
                column.code[slot] = self._code(value)

    def _code(self, value: str) -> int:
        code = self.codes.get(value)
        if code is None:
            code = self.codes[value] = len(self.codes)
        return code

    def _grow(self, capacity: int) -> None:
        for column in self.fields.values():
            column.grow(capacity)
        self.capacity = capacity

    def mask(self, flt: Filter, size: int) -> Mask:
        """Which of the first `size` slots satisfy `flt`."""
        if isinstance(flt, And):
            out = self.mask(flt.parts[0], size)
            for part in flt.parts[1:]:
                out &= self.mask(part, size)
            return out
        if isinstance(flt, Or):
            out = self.mask(flt.parts[0], size)
            for part in flt.parts[1:]:
                out |= self.mask(part, size)
            return out
        column = self.fields.get(flt.field)
        if isinstance(flt, Range):
            if column is None:
                return np.zeros(size, dtype=bool)
            return _compare(column.num[:size], flt.op, flt.value)
        values = (flt.value,) if isinstance(flt, Eq) else flt.values
        found = np.zeros(size, dtype=bool) if column is None else self._isin(column, values, size)
        return ~found if flt.negate else found

    def _isin(self, column: _Field, values: tuple[Scalar, ...], size: int) -> Mask:
        flags = [int(v) for v in values if isinstance(v, bool)]
        nums = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        codes = [self.codes[v] for v in values if isinstance(v, str) and v in self.codes]
        out = np.zeros(size, dtype=bool)
        if flags:
            out |= np.isin(column.flag[:size], flags)
        if nums:
            out |= np.isin(column.num[:size], nums)
        if codes:
            out |= np.isin(column.code[:size], codes)
        return out


def _compare(values: npt.NDArray[np.float64], op: str, bound: float) -> Mask:
    with np.errstate(invalid="ignore"):
        if op == "gt":
            return values > bound
        if op == "gte":
            return values >= bound
        if op == "lt":
            return values < bound
        return values <= bound
