"""Migrations run once when several replicas start together on a fresh PostgreSQL schema."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select

from llmdeck.store import open_store
from llmdeck.store.migrations import all_migrations, applied

SCRIPT = (
    "import sys; from llmdeck.store import open_store; "
    "s = open_store(sys.argv[1], run_migrations=False); print(len(s.migrate())); s.close()"
)


@pytest.mark.postgres
def test_four_processes_migrate_one_schema_at_once(postgres_url: str) -> None:
    runs = [
        subprocess.Popen([sys.executable, "-c", SCRIPT, postgres_url], stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    counts = []
    for run in runs:
        out, _ = run.communicate(timeout=60)
        assert run.returncode == 0
        counts.append(int(out))
    store = open_store(postgres_url, run_migrations=False)
    try:
        names = store.read(lambda c: list(c.execute(select(applied.c.name)).scalars()))
        jobs_table = store.read(
            lambda c: c.exec_driver_sql("SELECT to_regclass('procrastinate_jobs')").scalar()
        )
    finally:
        store.close()
    everything = [name for name, _ in all_migrations()]
    assert sorted(counts) == [0, 0, 0, len(everything)]  # one process applied all, the rest none
    assert sorted(names) == everything
    assert jobs_table is not None  # the job queue's schema came with them
