"""llmdeck traces tail | export: follow live traffic, or write traces as JSONL."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from typing import IO, Any

import click
import httpx
import orjson

from llmdeck.cli._output import config_option
from llmdeck.config import load_settings
from llmdeck.errors import LlmdeckError


def _server(config_path: str | None, url: str | None, api_key: str | None) -> httpx.Client:
    if url is None or api_key is None:
        settings = load_settings(config_path, os.environ)
        host = (
            settings.server.host if settings.server.host not in ("0.0.0.0", "::") else "127.0.0.1"
        )
        url = url or os.environ.get("LLMDECK_URL") or f"http://{host}:{settings.server.port}"
        if api_key is None and settings.admin_key is not None:
            api_key = settings.admin_key.get_secret_value()
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=30)


def _get(client: httpx.Client, path: str, params: dict[str, Any]) -> Any:
    try:
        response = client.get(path, params={k: v for k, v in params.items() if v})
    except httpx.HTTPError as exc:
        raise LlmdeckError(f"cannot reach the server at {client.base_url}: {exc}") from None
    if response.status_code >= 400:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:300]
        raise LlmdeckError(f"{response.status_code} from {path}: {message}")
    return response.json()


def server_options(fn: Any) -> Any:
    """--config, --url and --api-key."""
    fn = click.option("--api-key", default=None, help="Key to send (default: the admin key).")(fn)
    fn = click.option(
        "--url", default=None, help="Server URL (default: $LLMDECK_URL, else from the config)."
    )(fn)
    return config_option(fn)


@click.group()
def traces() -> None:
    """Follow and export traces from a running server."""


def _line(span: dict[str, Any]) -> str:
    when = datetime.fromtimestamp(span["start_time"]).strftime("%H:%M:%S")
    model = span.get("model_alias") or span.get("model") or ""
    latency = span.get("latency_ms")
    tokens = f"{span.get('input_tokens') or 0}→{span.get('output_tokens') or 0}"
    cost = f"${span['cost']:.6f}" if span.get("cost") else ""
    status = span["status"] if span["status"] == "ok" else f"ERROR {span.get('error') or ''}"
    parts = [when, span["trace_id"][:12], span["kind"], span["name"], model,
             f"{latency:.0f}ms" if latency is not None else "", tokens, cost, status]  # fmt: skip
    return "  ".join(p for p in parts if p)


@traces.command()
@server_options
@click.option("--model", help="Only this model alias or model.")
@click.option("--kind", help="Only these span kinds (comma-separated).")
@click.option("--status", type=click.Choice(["ok", "error"]), help="Only ok or failed spans.")
@click.option("--key", help="Only this key id.")
@click.option("--user", help="Only this user.")
@click.option("--tag", help="Only spans with this tag.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--count", type=int, default=None, help="Stop after this many spans.")
def tail(
    config_path: str | None,
    url: str | None,
    api_key: str | None,
    as_json: bool,
    count: int | None,
    **filters: str | None,
) -> None:
    """Follow live traffic as it is recorded, like `tail -f` (Ctrl-C stops)."""
    shown = 0
    with _server(config_path, url, api_key) as client:
        first = _get(client, "/api/spans/live", {"after": 2**62})
        cursor, instance = first["cursor"], first["instance"]
        try:
            while count is None or shown < count:
                page = _get(client, "/api/spans/live", {"after": cursor, "wait": 5, **filters})
                if page["instance"] != instance:  # restarted (or another worker): start anew
                    cursor, instance = 0, page["instance"]
                    continue
                cursor = page["cursor"]
                for span in page["spans"][: None if count is None else count - shown]:
                    click.echo(orjson.dumps(span).decode() if as_json else _line(span))
                    shown += 1
        except KeyboardInterrupt:
            return


@traces.command()
@server_options
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File (default stdout).")
@click.option("--since", help="Traces that started since (24h, 7d, an ISO time, epoch).")
@click.option("--until", "until", help="Traces that started before this.")
@click.option("--q", "q", help="Text to search for in names, inputs and outputs.")
@click.option("--tag", "tags", help="Tags the traces must have (comma-separated).")
@click.option("--status", type=click.Choice(["ok", "error"]))
@click.option("--user", "user_id")
@click.option("--session", "session_id")
@click.option("--model")
@click.option("--score", help="Only traces with a score of this name.")
@click.option("--limit", type=int, default=None, help="At most this many traces.")
def export(
    config_path: str | None,
    url: str | None,
    api_key: str | None,
    output: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    **filters: str | None,
) -> None:
    """Write traces (with spans and scores) as JSON Lines, newest first."""
    params: dict[str, Any] = {"start": since, "end": until, "full": "1", **filters}
    stream: IO[bytes] = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115
    written = 0
    started = time.monotonic()
    try:
        with _server(config_path, url, api_key) as client:
            cursor = None
            while limit is None or written < limit:
                size = 200 if limit is None else min(200, limit - written)
                page = _get(client, "/api/traces", {**params, "cursor": cursor, "limit": size})
                for trace in page["data"]:
                    stream.write(orjson.dumps(trace) + b"\n")
                    written += 1
                cursor = page["next_cursor"]
                if not cursor:
                    break
    finally:
        if output:
            stream.close()
        else:
            stream.flush()
    if output:
        took = time.monotonic() - started
        click.echo(f"wrote {written} traces to {output} in {took:.1f}s", err=True)
