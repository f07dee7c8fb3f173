from __future__ import annotations

import threading

from sqlalchemy import func, inspect, select

from llmdeck.store import open_store, tables
from llmdeck.store.migrations import all_migrations


def test_blank_database_migrates_to_the_declared_schema(database_url: str) -> None:
    store = open_store(database_url)
    try:
        found = store.read(lambda conn: inspect(conn).get_table_names())
        for table in tables.metadata.sorted_tables:
            assert table.name in found
            columns = store.read(
                lambda conn, t=table: {c["name"] for c in inspect(conn).get_columns(t.name)}
            )
            assert columns == {c.name for c in table.columns}, table.name
        assert store.migrate() == []  # idempotent
    finally:
        store.close()


def test_migrations_are_recorded_once_under_concurrent_start(database_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            open_store(database_url).close()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = open_store(database_url)
    try:
        from llmdeck.store.migrations import applied

        names = store.read(lambda conn: list(conn.execute(select(applied.c.name)).scalars()))
        assert sorted(names) == [name for name, _ in all_migrations()]
    finally:
        store.close()


def test_insert_ignore_and_upsert(database_url: str) -> None:
    store = open_store(database_url)
    try:
        row = {"id": "t1", "name": "first", "start_time": 1.0}
        store.write(lambda conn: conn.execute(store.insert_ignore(tables.traces), [row]))
        store.write(
            lambda conn: conn.execute(
                store.insert_ignore(tables.traces), [{**row, "name": "second"}]
            )
        )
        name = store.read(lambda conn: conn.execute(select(tables.traces.c.name)).scalar_one())
        assert name == "first"
        statement = store.upsert(tables.traces, ["id"], ["name"])
        store.write(lambda conn: conn.execute(statement, [{**row, "name": "third"}]))
        assert (
            store.read(lambda conn: conn.execute(select(tables.traces.c.name)).scalar_one())
            == "third"
        )
        count = store.read(
            lambda conn: conn.execute(select(func.count()).select_from(tables.traces)).scalar()
        )
        assert count == 1
    finally:
        store.close()
