"""/health (liveness) and /health/ready (each component's state)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmdeck.web import json_response

Check = Callable[[], Awaitable[dict[str, Any]]]


def routes(checks: dict[str, Check]) -> list[BaseRoute]:
    """Health routes over named readiness checks; a check is ready unless it says otherwise.
    A ready component may say it is `degraded`; the status is then "degraded" (still 200)."""

    async def live(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def ready(request: Request) -> Response:
        names = list(checks)
        results = await asyncio.gather(*(_run(checks[n]) for n in names))
        components = dict(zip(names, results, strict=True))
        ok = all(c.get("ready", True) for c in components.values())
        # degraded: serving, but some component runs on a fallback (e.g. local limits)
        degraded = any(c.get("degraded") for c in components.values())
        status = ("degraded" if degraded else "ready") if ok else "not ready"
        body = {"status": status, "components": components}
        return json_response(body, 200 if ok else 503)

    return [Route("/health", live), Route("/health/ready", ready)]


async def _run(check: Check) -> dict[str, Any]:
    try:
        return await asyncio.wait_for(check(), timeout=5)
    except Exception as exc:  # noqa: BLE001 - a failing check is a not-ready component
        return {"ready": False, "error": str(exc) or type(exc).__name__}


def database_check(store: Any) -> Check:
    """The database answers a trivial query."""

    async def check() -> dict[str, Any]:
        await store.aread(lambda conn: conn.execute(text("SELECT 1")).scalar())
        return {"ready": True, "engine": store.dialect, "url": store.url}

    return check


def jobs_check(jobs: Any) -> Check:
    """The job queue: connected, and whether this process works it."""

    async def check() -> dict[str, Any]:
        return dict(jobs.status())

    return check


def recorder_check(recorder: Any) -> Check:
    """The recorder's queue and counters; not ready when the queue is over 90% full."""

    async def check() -> dict[str, Any]:
        depth = recorder.depth
        return {
            "ready": depth < 0.9 * recorder.settings.queue_size,
            "queue_depth": depth,
            "recorded": recorder.recorded,
            "dropped": recorder.dropped,
            "failed": recorder.failed,
        }

    return check


def deployments_check(router: Any) -> Check:
    """Each model alias's deployments: circuit state, load, moving averages, last active check.

    Always ready: a replica whose providers are down still answers (quickly, with a 503 naming
    them), and taking every replica out of a load balancer would not bring a provider back.
    `status` says `degraded` when an alias lost a deployment and `down` when one lost all.
    """

    async def check() -> dict[str, Any]:
        state = await router.status()
        status = "down" if state["down"] else "degraded" if state["degraded"] else "ok"
        return {"ready": True, "status": status, **state}

    return check
