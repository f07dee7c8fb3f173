"""Roll-ups: per-minute, -hour and -day counts, sums and log-scale latency histograms.

The recorder folds every batch of spans into roll-up rows and adds them to the stored ones in one
upsert, so roll-ups are exact, current, and independent of sampling and of raw-span retention.
Percentiles come from the histograms: bins grow by 2^(1/4), so an estimate interpolated inside
its bin is within about 9% of the true value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite

from llmdeck.observe.span import VIA_GATEWAY, Span
from llmdeck.store import Store
from llmdeck.store.tables import span_rollups
from llmdeck.store.tables.observe import (
    HISTOGRAM_BINS,
    LATENCY_BINS,
    ROLLUP_DIMENSIONS,
    ROLLUP_SUMS,
)

MINUTE, HOUR, DAY = 60, 3600, 86400
RESOLUTIONS = (MINUTE, HOUR, DAY)
_LAST = HISTOGRAM_BINS - 1
_SCALARS = ROLLUP_SUMS.index(LATENCY_BINS[0])

Key = tuple[Any, ...]
"""(resolution, bucket, *ROLLUP_DIMENSIONS)"""


def bin_of(ms: float) -> int:
    """The histogram bin of a duration in milliseconds."""
    if ms < 1.0:
        return 0
    return min(int(4 * math.log2(ms)) + 1, _LAST)


def bin_bounds(index: int) -> tuple[float, float]:
    """[low, high) milliseconds of a bin (the last bin's high is its low)."""
    if index == 0:
        return 0.0, 1.0
    low = 2 ** ((index - 1) / 4)
    return low, (low if index == _LAST else 2 ** (index / 4))


def percentile(bins: Sequence[float], q: float) -> float | None:
    """The q-quantile (0..1) of a histogram, interpolated geometrically inside its bin."""
    total = sum(bins)
    if total <= 0:
        return None
    target = q * total
    seen = 0.0
    for index, count in enumerate(bins):
        if count and seen + count >= target:
            low, high = bin_bounds(index)
            fraction = (target - seen) / count
            if index == 0:
                return low + (high - low) * fraction
            return float(low * (high / low) ** fraction)
        seen += count
    return bin_bounds(_LAST)[0]


def _dimensions(span: Span) -> tuple[Any, ...]:
    return (
        span.kind,
        span.model_alias or "",
        span.model or "",
        span.provider or "",
        span.deployment or "",
        span.key_id or "",
        span.prompt_name or "",
        span.prompt_version or 0,
    )


class _Sums:
    """One roll-up row's additive values; histograms kept sparse until written."""

    __slots__ = ("latency", "totals", "ttft")

    def __init__(self) -> None:
        self.totals: list[float] = [0] * _SCALARS
        self.latency: dict[int, int] = {}
        self.ttft: dict[int, int] = {}

    def add(self, span: Span) -> None:
        totals = self.totals
        totals[0] += 1
        if span.status == "error":
            totals[1] += 1
        if span.cache and span.cache.endswith("hit"):
            totals[2] += 1
            saved = span.attributes.get("cache_saved_usd") if span.attributes else None
            if isinstance(saved, int | float):
                totals[10] += saved
        latency = span.duration_ms
        if latency is not None:
            totals[3] += latency
            index = bin_of(latency)
            self.latency[index] = self.latency.get(index, 0) + 1
        if span.ttft_ms is not None:
            totals[4] += 1
            totals[5] += span.ttft_ms
            index = bin_of(span.ttft_ms)
            self.ttft[index] = self.ttft.get(index, 0) + 1
        totals[6] += span.input_tokens or 0
        totals[7] += span.output_tokens or 0
        totals[8] += span.cached_tokens or 0
        totals[9] += span.cost or 0.0

    def merge(self, other: _Sums) -> None:
        self.totals = [a + b for a, b in zip(self.totals, other.totals, strict=True)]
        for mine, theirs in ((self.latency, other.latency), (self.ttft, other.ttft)):
            for index, count in theirs.items():
                mine[index] = mine.get(index, 0) + count

    def values(self) -> list[Any]:
        latency = [0] * HISTOGRAM_BINS
        for index, count in self.latency.items():
            latency[index] = count
        ttft = [0] * HISTOGRAM_BINS
        for index, count in self.ttft.items():
            ttft[index] = count
        return [*self.totals, *latency, *ttft]


def fold(spans: Iterable[Span]) -> dict[Key, _Sums]:
    """Roll-up deltas for `spans`: one row per resolution, bucket and dimension set (and tag)."""
    minutes: dict[Key, _Sums] = {}
    for span in spans:
        if span.attributes.get(VIA_GATEWAY):
            continue  # the gateway's own span for this call is counted
        dims = _dimensions(span)
        start = int(span.start_time)
        minute = start - start % MINUTE
        for tag in ("", *span.tags) if span.tags else ("",):
            key = (MINUTE, minute, *dims, tag)
            sums = minutes.get(key)
            if sums is None:
                sums = minutes[key] = _Sums()
            sums.add(span)
    rows = dict(minutes)
    for resolution in (HOUR, DAY):
        for key, sums in minutes.items():
            wider = (resolution, key[1] - key[1] % resolution, *key[2:])
            known = rows.get(wider)
            if known is None:
                known = rows[wider] = _Sums()
            known.merge(sums)
    return rows


ROLLUP_COLUMNS = ("resolution", "bucket", *ROLLUP_DIMENSIONS, *ROLLUP_SUMS)
"""The order of the values in `rollup_rows`' tuples."""


def rollup_rows(deltas: dict[Key, _Sums]) -> list[tuple[Any, ...]]:
    """Rows (in ROLLUP_COLUMNS order) for `fold`'s deltas, in key order, so that concurrent
    writers take row locks in one order."""
    return [(*key, *deltas[key].values()) for key in sorted(deltas)]


def rollup_upsert(store: Store) -> Insert:
    """INSERT ... ON CONFLICT DO UPDATE that adds each sum to the stored row."""
    dialect = postgresql if store.dialect == "postgresql" else sqlite
    statement = dialect.insert(span_rollups)
    table = span_rollups.c
    upsert: Insert = statement.on_conflict_do_update(
        index_elements=["resolution", "bucket", *ROLLUP_DIMENSIONS],
        set_={name: table[name] + statement.excluded[name] for name in ROLLUP_SUMS},
    )
    return upsert
