"""Analytics from the roll-ups match hand-computed values, on both engines."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from llmdeck.config import RetentionSettings
from llmdeck.observe import VIA_GATEWAY, Recorder, Span
from llmdeck.observe.analytics import Query, run, segments
from llmdeck.observe.params import Params
from llmdeck.observe.rollup import DAY, HOUR, MINUTE, percentile
from llmdeck.store import Store, open_store

DAY0 = 19_675 * DAY  # a UTC midnight
KEEP = RetentionSettings(minute_rollups=None, hour_rollups=None)


def exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = open_store(database_url)
    recorder = Recorder(store)
    recorder.start()
    for i in range(100):  # model a: 10..1000 ms, one call a minute from 01:00, every 10th fails
        recorder.record(
            Span(
                id=f"a{i:015x}",
                trace_id=f"a{i:031x}",
                name="chat",
                kind="llm",
                start_time=DAY0 + HOUR + i * MINUTE + 7,
                latency_ms=10.0 * (i + 1),
                model_alias="a",
                deployment="a-1",
                key_id="k1",
                input_tokens=100,
                output_tokens=10,
                cost=0.001,
                status="error" if i % 10 == 0 else "ok",
                tags=["beta"] if i < 30 else None,
                ttft_ms=5.0 if i < 50 else None,
            )
        )
    for i in range(20):  # model b on the next day
        recorder.record(
            Span(
                id=f"b{i:015x}",
                trace_id=f"b{i:031x}",
                name="chat",
                kind="llm",
                start_time=DAY0 + DAY + 30 * MINUTE + i,
                latency_ms=2000.0,
                model_alias="b",
                deployment="b-1",
                key_id="k2",
                input_tokens=50,
                cost=0.01,
                cache="hit" if i < 5 else None,
                attributes={"cache_saved_usd": 0.02} if i < 5 else {},
            )
        )
    recorder.record(
        Span(
            id="c" * 16,
            trace_id="c" * 32,
            name="tool",
            kind="tool",
            start_time=DAY0 + HOUR,
            latency_ms=1.0,
        )
    )
    recorder.record(  # a framework's span for a call the gateway answered (and recorded) itself
        Span(
            id="d" * 16,
            trace_id="d" * 32,
            name="ChatOpenAI",
            kind="llm",
            start_time=DAY0 + HOUR + 7,
            latency_ms=50.0,
            model_alias="a",
            input_tokens=100,
            cost=0.001,
            attributes={VIA_GATEWAY: True},
        )
    )
    recorder.close()
    yield store
    store.close()


def ask(store: Store, **params: str) -> dict[str, object]:
    series = "bucket" in params
    query = Query.from_params(Params(params), series=series)
    return store.read(lambda conn: run(conn, query, KEEP))


def test_summary_by_model_matches_hand_computed(store: Store) -> None:
    result = ask(store, start=str(DAY0), end=str(DAY0 + 2 * DAY), group_by="model_alias")
    by_model = {s["group"]["model_alias"]: s for s in result["series"]}  # type: ignore[attr-defined, index]
    a, b = by_model["a"], by_model["b"]
    assert (a["requests"], a["errors"], a["error_rate"]) == (100, 10, 0.1)
    assert (a["input_tokens"], a["output_tokens"]) == (10_000, 1_000)
    assert a["cost"] == pytest.approx(0.1) and b["cost"] == pytest.approx(0.2)
    assert a["throughput"] == pytest.approx(100 / (2 * DAY))
    latencies = [10.0 * (i + 1) for i in range(100)]
    assert a["latency_ms"]["avg"] == pytest.approx(505.0)
    for q in ("p50", "p95", "p99"):
        expected = exact(latencies, int(q[1:]) / 100)
        assert a["latency_ms"][q] == pytest.approx(expected, rel=0.1), q
    assert a["ttft_ms"]["avg"] == pytest.approx(5.0)
    assert b["latency_ms"]["p50"] == pytest.approx(2000.0, rel=0.1)
    assert b["cache_hits"] == 5 and b["requests"] == 20
    assert b["cache_saved_usd"] == pytest.approx(0.1) and a["cache_saved_usd"] == 0
    assert "" not in by_model  # the tool span is not an llm call


def test_timeseries_hourly_and_filters(store: Store) -> None:
    result = ask(store, start=str(DAY0), end=str(DAY0 + 4 * HOUR), bucket="hour", model_alias="a")
    (series,) = result["series"]  # type: ignore[misc]
    counts = [p["requests"] for p in series["points"]]
    assert counts == [0, 60, 40, 0]  # 01:00:07 + i minutes, i < 100
    assert [p["time"] for p in series["points"]] == [DAY0 + h * HOUR for h in range(4)]
    beta = ask(store, start=str(DAY0), end=str(DAY0 + DAY), group_by="tag")
    assert [(s["group"]["tag"], s["requests"]) for s in beta["series"]] == [("beta", 30)]  # type: ignore[attr-defined, index]
    every_kind = ask(store, start=str(DAY0), end=str(DAY0 + DAY), kind="all", group_by="kind")
    kinds = {s["group"]["kind"]: s["requests"] for s in every_kind["series"]}  # type: ignore[attr-defined, index]
    assert kinds == {"llm": 100, "tool": 1}
    by_key = ask(store, start=str(DAY0), end=str(DAY0 + 2 * DAY), key="k2", group_by="deployment")
    assert [(s["group"]["deployment"], s["requests"]) for s in by_key["series"]] == [("b-1", 20)]  # type: ignore[attr-defined, index]


def test_buckets_between_resolutions_read_the_finer_rollups(store: Store) -> None:
    # 15-minute points over a range whose calls all fall inside one unfinished hour
    result = ask(store, start=str(DAY0 + HOUR), end=str(DAY0 + HOUR + 45 * MINUTE), bucket="900")
    (series,) = result["series"]  # type: ignore[misc]
    assert [p["requests"] for p in series["points"]] == [15, 15, 15]
    # hourly points over whole days: each from its hour, not a day's row in its first hour
    hourly = ask(store, start=str(DAY0), end=str(DAY0 + 2 * DAY), bucket="hour")
    counts = [p["requests"] for p in hourly["series"][0]["points"]]  # type: ignore[index]
    assert counts[:3] == [0, 60, 40] and counts[24] == 20 and sum(counts) == 120


def test_ranges_use_the_coarsest_rollups_that_fit() -> None:
    start, end = DAY0 + 5 * MINUTE, DAY0 + 2 * DAY + 3 * HOUR + 2 * MINUTE
    assert segments(start, end) == [
        (MINUTE, start, DAY0 + HOUR),
        (HOUR, DAY0 + HOUR, DAY0 + DAY),
        (DAY, DAY0 + DAY, DAY0 + 2 * DAY),
        (HOUR, DAY0 + 2 * DAY, DAY0 + 2 * DAY + 3 * HOUR),
        (MINUTE, DAY0 + 2 * DAY + 3 * HOUR, end),
    ]


def test_percentile_interpolates_inside_a_bin() -> None:
    assert percentile([0] * 80, 0.5) is None
    bins = [0] * 80
    bins[41] = 10  # [2^10, 2^10.25) ms
    value = percentile(bins, 0.5)
    assert value is not None and 1024 <= value < 1218


def test_bad_parameters_are_named(store: Store) -> None:
    from llmdeck.errors import BadRequest

    with pytest.raises(BadRequest, match="group_by: unknown 'colour'"):
        ask(store, group_by="colour")
    with pytest.raises(BadRequest, match="bucket"):
        ask(store, bucket="fortnight")
    with pytest.raises(BadRequest, match="start: "):
        ask(store, start="yesterday-ish")
