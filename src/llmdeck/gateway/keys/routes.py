"""/api/keys, /api/spend, /api/audit and /api/limits/events: key management and what was spent.
The server mounts these behind the admin guard."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmdeck.errors import BadRequest, Forbidden
from llmdeck.gateway.keys.model import KeyChanges, KeyRecord, KeySpec
from llmdeck.gateway.limits.events import read_limit_events
from llmdeck.gateway.spend import COLUMNS, spend_report
from llmdeck.web import json_response, read_model

if TYPE_CHECKING:
    from llmdeck.gateway.limits import Controls

SHOWN_ONCE = "store this key now: only its hash is kept, it cannot be shown again"


def actor_of(request: Request) -> str:
    """Who is acting: the principal the admin guard let in."""
    principal = getattr(request.state, "principal", None)
    return f"api:{getattr(principal, 'name', 'unknown')}"


def query_int(request: Request, name: str, default: int, high: int) -> int:
    """An integer query parameter in [1, high]."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise BadRequest(f"{name}: expected a whole number from 1 to {high}", param=name)
    return int(raw)


def query_day(request: Request, name: str, default: date) -> str:
    """A YYYY-MM-DD query parameter."""
    raw = request.query_params.get(name)
    if raw is None:
        return default.isoformat()
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise BadRequest(f"{name}: expected a day as YYYY-MM-DD, got {raw!r}", param=name) from None


def _shown_once(record: KeyRecord, secret: str) -> dict[str, Any]:
    return {"id": record.id, "key": secret, **record.public(), "note": SHOWN_ONCE}


def routes(controls: Controls, *, admin_key_set: bool) -> list[BaseRoute]:
    """The management routes over `controls` (mount them behind the admin guard)."""
    return [*key_routes(controls, admin_key_set=admin_key_set), *report_routes(controls)]


def key_routes(controls: Controls, *, admin_key_set: bool) -> list[BaseRoute]:
    """/api/keys: create, list, show, change, rotate, revoke."""
    admin = controls.admin

    async def list_keys(request: Request) -> Response:
        include = request.query_params.get("all", "").lower() in ("1", "true", "yes")
        team = request.query_params.get("team")
        records = await admin.list_keys(include_revoked=include, team=team)
        keys = [r.public() for r in records]
        if request.query_params.get("usage", "").lower() in ("1", "true", "yes"):
            for body, record in zip(keys, records, strict=True):
                body["usage"] = await controls.budgets.usage(record)
        return json_response({"keys": keys})

    async def create_key(request: Request) -> Response:
        if not admin_key_set:
            raise Forbidden(
                "set LLMDECK_ADMIN_KEY before creating keys over HTTP: once a key exists every "
                "request needs one, and only the admin key manages keys (or use `llmdeck keys`)",
                code="admin_key_required",
            )
        spec = await read_model(request, KeySpec)
        record, secret = await admin.create(spec, actor_of(request))
        return json_response(_shown_once(record, secret), 201)

    async def show_key(request: Request) -> Response:
        record = await admin.get(request.path_params["ref"])
        body: dict[str, Any] = record.public()
        body["usage"] = await controls.budgets.usage(record)
        return json_response(body)

    async def update_key(request: Request) -> Response:
        changes = await read_model(request, KeyChanges)
        record = await admin.update(request.path_params["ref"], changes, actor_of(request))
        return json_response(record.public())

    async def rotate_key(request: Request) -> Response:
        record, secret = await admin.rotate(request.path_params["ref"], actor_of(request))
        return json_response(_shown_once(record, secret))

    async def revoke_key(request: Request) -> Response:
        record = await admin.revoke(request.path_params["ref"], actor_of(request))
        return json_response(record.public())

    return [
        Route("/api/keys", list_keys, methods=["GET"]),
        Route("/api/keys", create_key, methods=["POST"]),
        Route("/api/keys/{ref}", show_key, methods=["GET"]),
        Route("/api/keys/{ref}", update_key, methods=["PATCH"]),
        Route("/api/keys/{ref}", revoke_key, methods=["DELETE"]),
        Route("/api/keys/{ref}/rotate", rotate_key, methods=["POST"]),
    ]


def report_routes(controls: Controls) -> list[BaseRoute]:
    """/api/spend, /api/audit, /api/limits/events."""
    admin = controls.admin
    store = controls.store

    async def spend(request: Request) -> Response:
        by = request.query_params.get("by", "key")
        if by not in COLUMNS:
            raise BadRequest(f"by: expected one of {', '.join(COLUMNS)}, got {by!r}", param="by")
        today = datetime.now(UTC).date()
        since = query_day(request, "since", today - timedelta(days=29))
        until = query_day(request, "until", today)
        key_id = request.query_params.get("key")
        if key_id is not None:
            key_id = (await admin.get(key_id)).id
        team = request.query_params.get("team")
        rows = await store.aread(
            lambda c: spend_report(c, by, since=since, until=until, key_id=key_id, team=team)  # type: ignore[arg-type]
        )
        total = {
            name: sum(r[name] for r in rows)
            for name in ("requests", "input_tokens", "output_tokens", "cached_tokens", "cost")
        }
        body = {"by": by, "since": since, "until": until, "rows": rows, "total": total}
        if by == "tag":
            body["note"] = "a call with several tags counts under each of them"
        return json_response(body)

    async def audit(request: Request) -> Response:
        entries = await admin.audit(
            target=request.query_params.get("target"),
            action=request.query_params.get("action"),
            limit=query_int(request, "limit", 100, 1000),
        )
        return json_response({"entries": [e.public() for e in entries]})

    async def events(request: Request) -> Response:
        name = request.query_params.get("name")
        limit = query_int(request, "limit", 100, 1000)
        rows = await store.aread(lambda c: read_limit_events(c, name=name, limit=limit))
        return json_response({"events": rows})

    return [
        Route("/api/spend", spend, methods=["GET"]),
        Route("/api/audit", audit, methods=["GET"]),
        Route("/api/limits/events", events, methods=["GET"]),
    ]
