from __future__ import annotations

import threading

from sqlalchemy import func, select

from llmdeck.config import ObserveSettings
from llmdeck.observe import Recorder, Span
from llmdeck.store import open_store, tables


def span(n: int, trace: str | None = None, **fields: object) -> Span:
    return Span(
        id=f"{n:016x}",
        trace_id=trace or f"{n:032x}",
        name="chat",
        kind="llm",
        start_time=1_700_000_000.0 + n,
        **fields,  # type: ignore[arg-type]
    )


def count(store: object, table: object) -> int:
    return store.read(  # type: ignore[attr-defined, no-any-return]
        lambda conn: conn.execute(select(func.count()).select_from(table)).scalar()  # type: ignore[arg-type]
    )


def test_nothing_is_lost_across_a_clean_shutdown_under_load(database_url: str) -> None:
    store = open_store(database_url)
    recorder = Recorder(store, ObserveSettings(batch_size=200, flush_interval=0.05))
    recorder.start()
    writers = 8
    each = 2_500

    def produce(worker: int) -> None:
        for i in range(each):
            recorder.record(span(worker * each + i, input=[{"role": "user", "content": "hi"}]))

    threads = [threading.Thread(target=produce, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.close()
    assert recorder.dropped == 0 and recorder.failed == 0
    assert recorder.recorded == writers * each
    assert count(store, tables.spans) == writers * each
    assert count(store, tables.traces) == writers * each
    store.close()


def test_full_queue_drops_and_counts(tmp_path: object) -> None:
    store = open_store(f"sqlite:///{tmp_path}/x.db")  # type: ignore[str-bytes-safe]
    recorder = Recorder(store, ObserveSettings(queue_size=10))
    for i in range(25):  # not started: nothing drains
        recorder.record(span(i))
    assert recorder.depth == 10
    assert recorder.dropped == 15
    recorder.start()
    recorder.close()
    assert count(store, tables.spans) == 10
    store.close()


def test_large_fields_are_truncated_keeping_length(tmp_path: object) -> None:
    store = open_store(f"sqlite:///{tmp_path}/x.db")  # type: ignore[str-bytes-safe]
    recorder = Recorder(store, ObserveSettings(max_field_chars=100))
    recorder.start()
    recorder.record(span(1, output="x" * 1000, input="short"))
    recorder.close()
    row = store.read(
        lambda conn: conn.execute(select(tables.spans.c.input, tables.spans.c.output)).one()
    )
    assert row.input == "short"
    assert row.output == {"truncated": True, "length": 1000, "text": "x" * 100}
    assert recorder.truncated == 1
    store.close()


def test_spans_of_one_trace_share_one_trace_row(database_url: str) -> None:
    store = open_store(database_url)
    recorder = Recorder(store)
    recorder.start()
    recorder.record(span(1, trace="a" * 32, parent_id="f" * 16))
    recorder.record(span(2, trace="a" * 32, trace_name="root"))
    recorder.close()
    assert count(store, tables.spans) == 2
    names = store.read(lambda conn: list(conn.execute(select(tables.traces.c.name)).scalars()))
    assert names == ["root"]
    store.close()
