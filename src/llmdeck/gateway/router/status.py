"""The routing state people look at: every alias's deployments with their circuit, load and
moving averages, and the last active check. Served in `GET /health/ready` (component
`deployments`) and printed by `llmdeck deployments list`."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from llmdeck.config import ModelAlias
from llmdeck.gateway.router.circuit import CircuitStore
from llmdeck.gateway.router.health import CheckResult
from llmdeck.gateway.router.load import Load


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


async def alias_status(
    alias: ModelAlias,
    circuits: CircuitStore,
    loads: Mapping[str, Load],
    checks: Mapping[str, CheckResult],
) -> dict[str, Any]:
    """One alias: its routing and each deployment's state. `available` counts the deployments
    whose circuit is not open."""
    if alias.routing == "complexity":
        return {"routing": alias.routing, "tiers": dict(alias.tiers or {})}
    now, clock = time.time(), time.monotonic()
    deployments = []
    for deployment in alias.deployments:
        load = loads[deployment.name]
        view = await circuits.view(deployment.name, alias.circuit, now)
        entry: dict[str, Any] = {
            "name": deployment.name,
            "provider": deployment.provider,
            "model": deployment.model,
            **view.as_dict(),
            "in_flight": load.in_flight,
            "max_parallel": deployment.max_parallel,
            "latency_ms": _ms(load.latency.current(clock)),
            "ttft_ms": _ms(load.ttft.current(clock)),
            "requests": load.requests,
            "failures": load.failures,
        }
        last = checks.get(deployment.name)
        if last is not None:
            entry["last_check"] = last.as_dict()
        deployments.append(entry)
    available = sum(1 for d in deployments if d["state"] != "open" and not d["resting_for"])
    return {"routing": alias.routing, "available": available, "deployments": deployments}


async def routing_status(
    aliases: tuple[ModelAlias, ...],
    circuits: CircuitStore,
    loads: Mapping[str, Load],
    checks: Mapping[str, CheckResult],
) -> dict[str, Any]:
    """Every alias; `degraded` names the aliases with a deployment out, `down` those with
    none left."""
    models = {a.name: await alias_status(a, circuits, loads, checks) for a in aliases}
    served = [(n, m) for n, m in models.items() if "deployments" in m]
    down = [n for n, m in served if m["available"] == 0]
    degraded = [n for n, m in served if 0 < m["available"] < len(m["deployments"])]
    return {"down": down, "degraded": degraded, "models": models}
