"""Spend reports over the daily roll-up: totals grouped by key, team, model alias, deployment,
prompt, tag or day, over a range of UTC days."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Connection, func, select

from llmdeck.store import tables

GroupBy = Literal["key", "team", "model", "deployment", "prompt", "tag", "day"]
COLUMNS: dict[str, str] = {
    "key": "key_id",
    "team": "team",
    "model": "model_alias",
    "deployment": "deployment",
    "prompt": "prompt_name",
    "tag": "tag",
    "day": "day",
}


def spend_report(
    conn: Connection,
    by: GroupBy,
    *,
    since: str,
    until: str,
    key_id: str | None = None,
    team: str | None = None,
) -> list[dict[str, Any]]:
    """Rows of {by: value, requests, input_tokens, output_tokens, cached_tokens, cost}, the
    most expensive first; `since` and `until` are UTC days (YYYY-MM-DD), both included. Grouped
    by key, each row also names the key."""
    table = tables.spend_daily
    column = table.c[COLUMNS[by]]
    sums = [func.sum(table.c[name]).label(name) for name in ("requests", "input_tokens")]
    sums += [func.sum(table.c[name]).label(name) for name in ("output_tokens", "cached_tokens")]
    sums.append(func.sum(table.c.cost).label("cost"))
    query = (
        select(column.label("group"), *sums)
        .where(table.c.day >= since, table.c.day <= until)
        .where(table.c.tag != "" if by == "tag" else table.c.tag == "")
        .group_by(column)
        .order_by(func.sum(table.c.cost).desc(), column)
    )
    if key_id is not None:
        query = query.where(table.c.key_id == key_id)
    if team is not None:
        query = query.where(table.c.team == team)
    rows = [
        {
            by: row.group or None,
            "requests": int(row.requests or 0),
            "input_tokens": int(row.input_tokens or 0),
            "output_tokens": int(row.output_tokens or 0),
            "cached_tokens": int(row.cached_tokens or 0),
            "cost": float(row.cost or 0.0),
        }
        for row in conn.execute(query)
    ]
    if by == "key":
        names = _key_names(conn, [str(r["key"]) for r in rows if r["key"]])
        for row in rows:
            row["name"] = names.get(str(row["key"]))
    return rows


def _key_names(conn: Connection, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    keys = tables.api_keys
    query = select(keys.c.id, keys.c.name).where(keys.c.id.in_(ids))
    return {row.id: row.name for row in conn.execute(query)}
