"""llmdeck deployments list: the routing state of a running server (circuits, load, latency)."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from typing import Any

import click
import orjson

from llmdeck.cli._output import config_option, print_json, print_table
from llmdeck.config import load_settings
from llmdeck.errors import LlmdeckError

COLUMNS = ("model", "deployment", "state", "busy", "ms (ttft)", "failed", "retry", "check")


@click.group()
def deployments() -> None:
    """Inspect the deployments behind each model alias on a running server."""


@deployments.command("list")
@config_option
@click.option("--url", default=None, help="The server (default: from the config, 127.0.0.1:4000).")
@click.option("--json", "as_json", is_flag=True, help="Print the server's state as JSON.")
def list_(config_path: str | None, url: str | None, as_json: bool) -> None:
    """Each deployment's circuit (closed, open, half-open), requests in flight (busy), moving
    averages of latency and time to first token (ms (ttft)), failed/all attempts in the
    circuit's window, time until it is tried again (retry), and the last active health check,
    as seen by the server (`GET /health/ready`, component `deployments`)."""
    settings = load_settings(config_path, os.environ)
    if url is None:
        host = settings.server.host if settings.server.host not in ("0.0.0.0", "::") else None
        url = f"http://{host or '127.0.0.1'}:{settings.server.port}"
    key = settings.admin_key.get_secret_value() if settings.admin_key else None
    state = fetch_state(url.rstrip("/"), key)
    if as_json:
        print_json(state)
        return
    print_table(COLUMNS, rows(state), title=f"deployments at {url} ({state.get('status', '?')})")


def fetch_state(url: str, key: str | None) -> dict[str, Any]:
    """The `deployments` component of the server's readiness report."""
    request = urllib.request.Request(f"{url}/health/ready")
    if key:
        request.add_header("authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()  # 503 "not ready" still carries the report
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise LlmdeckError(f"no llmdeck server answers at {url} ({reason})") from None
    try:
        component = orjson.loads(body)["components"]["deployments"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise LlmdeckError(f"{url}/health/ready did not report deployments") from None
    if not isinstance(component, dict):
        raise LlmdeckError(f"{url}/health/ready did not report deployments")
    return component


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def rows(state: dict[str, Any]) -> list[list[Any]]:
    """One row per deployment (and one per complexity-routed alias, naming its tiers)."""
    out: list[list[Any]] = []
    for alias, model in state.get("models", {}).items():
        if "tiers" in model:
            for tier, target in model["tiers"].items():
                out.append([alias, f"({tier})", f"-> {target}", "", "", "", "", ""])
            continue
        for d in model["deployments"]:
            limit = f"/{d['max_parallel']}" if d.get("max_parallel") else ""
            wait = d["retry_in"] or d["resting_for"]
            check = d.get("last_check")
            out.append(
                [
                    alias,
                    d["name"],
                    d["state"] + (" (resting)" if d["resting_for"] else ""),
                    f"{d['in_flight']}{limit}",
                    _ms(d["latency_ms"]) + (f" ({_ms(d['ttft_ms'])})" if d["ttft_ms"] else ""),
                    f"{d['window_failures']}/{d['window_requests']}",
                    f"{wait:.1f}s" if wait else "",
                    "" if check is None else ("ok" if check["ok"] else "failed"),
                ]
            )
    return out
