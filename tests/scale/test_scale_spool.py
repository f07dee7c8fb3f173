"""The recorder's spool: spans recorded by a process killed before its writer stored them are
stored by the next recorder on the same directory, once, with their roll-ups counted once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import func, select

from llmdeck.config import ObserveSettings
from llmdeck.observe import Recorder, Spool
from llmdeck.store import open_store, tables

VICTIM = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from llmdeck.config import ObserveSettings
    from llmdeck.observe import Recorder, Spool, Span
    from llmdeck.store import open_store

    store = open_store(sys.argv[1])
    recorder = Recorder(store, ObserveSettings(flush_interval=3600, batch_size=10_000),
                        Spool(Path(sys.argv[2])))
    recorder.start()
    for i in range(40):
        recorder.record(Span(id=f"{i:016x}", trace_id=f"{i:032x}", name="call", kind="llm",
                             start_time=time.time(), latency_ms=1.0, cost=0.5))
    if sys.argv[3] == "half":
        recorder.flush()  # the first 40 are stored, but the spool is not emptied yet ...
        recorder.spool.stored = lambda upto: None
        for i in range(40, 60):
            recorder.record(Span(id=f"{i:016x}", trace_id=f"{i:032x}", name="call",
                                 kind="llm", start_time=time.time(), latency_ms=1.0, cost=0.5))
        recorder.flush()
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def count(url: str, table: object, column: object = None) -> float:
    store = open_store(url, run_migrations=False)
    try:
        what = func.count() if column is None else func.sum(column)  # type: ignore[arg-type]
        query = select(what).select_from(table)  # type: ignore[arg-type]
        return float(store.read(lambda c: c.execute(query).scalar()) or 0)
    finally:
        store.close()


def kill_while_recording(tmp_path: Path, url: str, mode: str) -> Path:
    script, spool = tmp_path / "victim.py", tmp_path / "spool"
    script.write_text(VICTIM)
    run = subprocess.run([sys.executable, str(script), url, str(spool), mode], timeout=60)
    assert run.returncode == -9
    return spool


def recover(url: str, spool: Path) -> None:
    store = open_store(url)
    recorder = Recorder(store, ObserveSettings(), Spool(spool))
    recorder.start()
    recorder.close()
    store.close()


def test_spans_queued_at_a_kill_are_stored_by_the_next_recorder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'llmdeck.db'}"
    spool = kill_while_recording(tmp_path, url, "queued")
    assert count(url, tables.spans) == 0  # nothing was written before the kill
    assert list(spool.glob("spool-*.jsonl"))  # ... but it was written ahead
    recover(url, spool)
    assert count(url, tables.spans) == 40
    assert not list(spool.glob("spool-*.jsonl"))


def test_spans_already_stored_are_not_stored_or_counted_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'llmdeck.db'}"
    spool = kill_while_recording(tmp_path, url, "half")
    assert count(url, tables.spans) == 60
    rolled = count(url, tables.span_rollups, tables.span_rollups.c["count"])
    recover(url, spool)
    assert count(url, tables.spans) == 60
    assert count(url, tables.span_rollups, tables.span_rollups.c["count"]) == rolled
