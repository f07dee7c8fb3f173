"""Events the limits record: a budget crossing its warning share or running out, shared state
lost or regained. `record_limit_event` is the one place they are written, so it can be pointed
at another events store without touching the callers."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from sqlalchemy import Connection, select

from llmdeck.store import Store, tables

log = logging.getLogger(__name__)


async def record_limit_event(
    store: Store, name: str, message: str, *, level: str = "warning", **attributes: Any
) -> None:
    """Write an event (`budget.warning`, `budget.exhausted`, `state.degraded`, ...); a failure
    is logged, never raised into a request."""
    row = {
        "id": os.urandom(8).hex(),
        "time": time.time(),
        "name": name,
        "level": level,
        "source": "limits",
        "message": message,
        "attributes": attributes,
    }
    log.info("%s: %s", name, message)
    try:
        await store.awrite(lambda conn: conn.execute(tables.events.insert().values(**row)))
    except Exception:
        log.exception("could not record event %s", name)


def read_limit_events(
    conn: Connection, *, name: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The latest events first."""
    table = tables.events
    query = select(table).where(table.c.source == "limits")
    query = query.order_by(table.c.time.desc()).limit(limit)
    if name is not None:
        query = query.where(table.c.name == name)
    return [dict(row._mapping) for row in conn.execute(query)]
