"""llmdeck keys create | list | show | update | rotate | revoke | spend | audit

These work on the database named by the config (`LLMDECK_DATABASE_URL`, else the SQLite file
under LLMDECK_HOME), so they need no running server; with Redis configured, running servers hear
of each change at once (else within `limits.key_refresh` seconds).
"""

from __future__ import annotations

import asyncio
import getpass
import os
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click
import orjson
from pydantic import ValidationError
from rich.table import Table

from llmdeck.cli._output import config_option, console, print_json, print_table
from llmdeck.config import Settings, load_settings
from llmdeck.errors import BadRequest
from llmdeck.gateway.keys import CHANNEL, PERIODS, KeyAdmin, KeyChanges, KeyRecord, KeySpec
from llmdeck.gateway.limits.periods import current
from llmdeck.gateway.spend import COLUMNS, spend_report, spent_since
from llmdeck.store import open_store
from llmdeck.web import bad_request

T = TypeVar("T")
FLAGS = {"expires_at": "--expires", "period": "--period", "models": "--models"}
CLEAR = "none"


Param = click.ParamType[Any, Any]


class _Clearable(Param):
    """A value, or `none` to clear the field (for `update`)."""

    def __init__(self, inner: Param) -> None:
        self.inner = inner
        self.name = f"{inner.name}|none"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.lower() == CLEAR:
            return CLEAR
        return self.inner.convert(value, param, ctx)


def _run(config_path: str | None, work: Callable[[KeyAdmin, Settings], Awaitable[T]]) -> T:
    settings = load_settings(config_path, os.environ)
    store = open_store(settings.effective_database_url)
    try:
        notify = _publisher(settings)
        admin = KeyAdmin(store, notify=notify, models=[m.name for m in settings.models])
        return asyncio.run(_guarded(work(admin, settings)))
    finally:
        store.close()


async def _guarded(work: Awaitable[T]) -> T:
    try:
        return await work
    except BadRequest as exc:
        raise click.UsageError(_flagged(exc.message)) from None


def _flagged(message: str) -> str:
    field, sep, rest = message.partition(":")
    if not sep:
        return message
    name = field.split("[")[0]
    return f"{FLAGS.get(name, '--' + name.replace('_', '-'))}:{rest}"


def _publisher(settings: Settings) -> Callable[[str], Awaitable[None]] | None:
    """Tell running servers through Redis (best effort: they also poll the database)."""
    if not settings.redis_url:
        return None
    url, channel = settings.redis_url, settings.state.prefix + CHANNEL

    async def publish(key_id: str) -> None:
        from llmdeck.gateway.state import UNAVAILABLE
        from llmdeck.gateway.state.redis import connect

        client = connect(url, settings.state.timeout)
        with suppress(*UNAVAILABLE):
            await client.publish(channel, key_id)
        await client.aclose()

    return publish


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _spec(model: type[KeySpec] | type[KeyChanges], fields: dict[str, Any]) -> Any:
    values = {k: (None if v == CLEAR else v) for k, v in fields.items() if v is not None}
    models, metadata = values.get("models"), values.get("metadata")
    if isinstance(models, str):
        values["models"] = [m.strip() for m in models.split(",") if m.strip()]
    if isinstance(metadata, str):
        try:
            values["metadata"] = orjson.loads(metadata)
        except orjson.JSONDecodeError as exc:
            raise click.UsageError(f"--metadata: not JSON ({exc})") from None
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise click.UsageError(_flagged(bad_request(exc).message)) from None


def _key_options(clearable: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(kind: Param) -> Param:
        return _Clearable(kind) if clearable else kind

    options = [
        click.option("--team", type=wrap(click.STRING), help="Team (spend is reported by team)."),
        click.option("--owner", type=wrap(click.STRING), help="Who the key is for."),
        click.option("--models", type=wrap(click.STRING), help="Allowed model aliases: A,B."),
        click.option("--rpm", type=wrap(click.IntRange(min=1)), help="Requests per minute."),
        click.option("--tpm", type=wrap(click.IntRange(min=1)), help="Tokens per minute."),
        click.option("--budget", type=wrap(click.FloatRange(min=0)), help="Budget in USD."),
        click.option("--period", type=click.Choice(PERIODS), help="Budget period (default total)."),
        click.option(
            "--expires", type=wrap(click.STRING), help="2026-01-31, 2026-01-31T12:00Z, or 30d."
        ),
        click.option("--metadata", type=wrap(click.STRING), help="A JSON object."),
        click.option("--ui/--no-ui", default=None, help="May sign in to the web UI (docs/ui.md)."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON."),
        config_option,
    ]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


@click.group()
def keys() -> None:
    """Virtual keys: create, list, show, update, rotate, revoke; spend and the audit log."""


@keys.command()
@click.option("--name", required=True, help="A name for the key (unique among live keys).")
@_key_options(clearable=False)
def create(config_path: str | None, as_json: bool, expires: str | None, **fields: Any) -> None:
    """Create a key and print it once: only its hash is stored."""
    spec = _spec(KeySpec, {**fields, "expires_at": expires})
    record, secret = _run(config_path, lambda admin, _: admin.create(spec, _actor()))
    if as_json:
        print_json({"id": record.id, "key": secret, **record.public()})
        return
    click.echo(f"created key {record.name!r} ({record.id}){_limits(record)}", err=True)
    click.echo(secret)
    click.echo("store it now: only its hash is kept, it cannot be shown again", err=True)


@keys.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Include revoked keys.")
@click.option("--team", default=None, help="Only this team's keys.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
def list_(config_path: str | None, include_revoked: bool, team: str | None, as_json: bool) -> None:
    """List keys (live ones unless --all)."""
    records = _run(
        config_path, lambda admin, _: admin.list_keys(include_revoked=include_revoked, team=team)
    )
    if as_json:
        print_json({"keys": [r.public() for r in records]})
        return
    table = Table(show_edge=False, header_style="bold")
    for column in ("id", "name", "team", "models", "limits", "budget", "expires", "status"):
        table.add_column(column, no_wrap=column in ("id", "name"), overflow="fold")
    for record in records:
        table.add_row(*("" if v is None else str(v) for v in _row(record)))
    console.print(table)


@keys.command()
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
def show(config_path: str | None, key: str, as_json: bool) -> None:
    """Show a key (by id or name) and what it spent this budget period."""

    async def work(admin: KeyAdmin, settings: Settings) -> dict[str, Any]:
        record = await admin.get(key)
        body = record.public()
        if record.budget_period is not None:
            span = current(record.budget_period, datetime.now(UTC).timestamp())
            spent = await admin.store.aread(lambda c: spent_since(c, record.id, span.first_day))
            body["usage"] = {"budget": record.budget, "period": span.id, "spent": spent}
        return body

    body = _run(config_path, work)
    if as_json:
        print_json(body)
        return
    for name, value in body.items():
        if value not in (None, {}, []):
            click.echo(f"{name:>11}: {value}")


@keys.command()
@click.argument("key")
@click.option("--name", default=None, help="A new name.")
@_key_options(clearable=True)
def update(
    config_path: str | None, key: str, as_json: bool, expires: str | None, **fields: Any
) -> None:
    """Change a key's fields (`none` clears one: --rpm none)."""
    changes = _spec(KeyChanges, {**fields, "expires_at": expires})
    if not changes.model_fields_set:
        raise click.UsageError("nothing to change: give at least one option")
    record = _run(config_path, lambda admin, _: admin.update(key, changes, _actor()))
    if as_json:
        print_json(record.public())
        return
    click.echo(f"updated key {record.name!r} ({record.id}){_limits(record)}")


@keys.command()
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
def rotate(config_path: str | None, key: str, as_json: bool) -> None:
    """Give a key a new secret, printed once; the old one is refused from now on."""
    record, secret = _run(config_path, lambda admin, _: admin.rotate(key, _actor()))
    if as_json:
        print_json({"id": record.id, "key": secret, **record.public()})
        return
    click.echo(
        f"rotated key {record.name!r} ({record.id}): the old secret no longer works", err=True
    )
    click.echo(secret)


@keys.command()
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
def revoke(config_path: str | None, key: str, as_json: bool) -> None:
    """Revoke a key (by id or name); every server refuses it within a second."""
    record = _run(config_path, lambda admin, _: admin.revoke(key, _actor()))
    if as_json:
        print_json(record.public())
        return
    click.echo(f"revoked key {record.name!r} ({record.id})")


@keys.command()
@click.option("--by", type=click.Choice(list(COLUMNS)), default="key", show_default=True)
@click.option("--days", type=click.IntRange(1, 3660), default=30, show_default=True)
@click.option("--key", "key_ref", default=None, help="Only this key (id or name).")
@click.option("--team", default=None, help="Only this team.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
def spend(
    config_path: str | None,
    by: str,
    days: int,
    key_ref: str | None,
    team: str | None,
    as_json: bool,
) -> None:
    """Spend over the last DAYS days (UTC), grouped by key, team, model, deployment, prompt,
    tag or day. Written by the servers about once a second."""
    today = datetime.now(UTC).date()
    since, until = (today - timedelta(days=days - 1)).isoformat(), today.isoformat()

    async def work(admin: KeyAdmin, _: Settings) -> list[dict[str, Any]]:
        key_id = (await admin.get(key_ref)).id if key_ref else None
        return await admin.store.aread(
            lambda c: spend_report(c, by, since=since, until=until, key_id=key_id, team=team)  # type: ignore[arg-type]
        )

    rows = _run(config_path, work)
    if as_json:
        print_json({"by": by, "since": since, "until": until, "rows": rows})
        return
    head = [by, *(["name"] if by == "key" else []), "requests", "input", "output", "cost"]
    table = [
        [
            r[by] or "-",
            *([r.get("name")] if by == "key" else []),
            r["requests"],
            r["input_tokens"],
            r["output_tokens"],
            f"${r['cost']:.4f}",
        ]
        for r in rows
    ]
    print_table(head, table, title=f"spend {since} .. {until}")


@keys.command()
@click.option("--key", "key_ref", default=None, help="Only this key's entries (id or name).")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
def audit(config_path: str | None, key_ref: str | None, limit: int, as_json: bool) -> None:
    """The audit log of key changes, latest first."""

    async def work(admin: KeyAdmin, _: Settings) -> list[dict[str, Any]]:
        target = (await admin.get(key_ref)).id if key_ref else None
        return [e.public() for e in await admin.audit(target=target, limit=limit)]

    entries = _run(config_path, work)
    if as_json:
        print_json({"entries": entries})
        return
    rows = [
        [_when(e["time"]), e["actor"], e["action"], e["target"], _compact(e["details"])]
        for e in entries
    ]
    print_table(["time", "actor", "action", "target", "details"], rows)


def _limits(record: KeyRecord) -> str:
    parts = [f"{record.rpm} rpm" if record.rpm else "", f"{record.tpm} tpm" if record.tpm else ""]
    if record.budget is not None:
        parts.append(f"${record.budget:g}/{record.budget_period}")
    shown = ", ".join(p for p in parts if p)
    return f": {shown}" if shown else ""


def _row(record: KeyRecord) -> list[Any]:
    budget = f"${record.budget:g}/{record.budget_period}" if record.budget is not None else None
    rates = [f"{record.rpm} rpm" if record.rpm else "", f"{record.tpm} tpm" if record.tpm else ""]
    return [
        record.id,
        record.name,
        record.team,
        ",".join(record.models) if record.models is not None else "*",
        " ".join(r for r in rates if r),
        budget,
        _when(record.expires_at)[:10] if record.expires_at else None,
        record.status,
    ]


def _compact(value: Any) -> str:
    return orjson.dumps(value).decode()


def _when(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M")


__all__ = ["keys"]
