"""llmdeck rag ingest | query

`ingest` opens the store and the collection itself (the gateway runs in-process for
embeddings), like `llmdeck vectors`. `query` does too, or asks a running server with `--url`:
the embedded vector engine lets one process hold a collection, so while `llmdeck serve` (or
`quickstart`) runs, query through it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import click
import httpx
import orjson

from llmdeck.cli._output import (
    config_option,
    errors,
    json_option,
    json_value,
    print_json,
    print_table,
    progress,
)
from llmdeck.config import load_settings
from llmdeck.errors import ApiError
from llmdeck.rag import IngestReport, RagError, RagService
from llmdeck.server.embedder import background_runtime
from llmdeck.vectors import CollectionBusy, CollectionNotFound, VectorError


class _Group(click.Group):
    """Bad input (a missing path, an unknown collection, a bad filter) is a usage error."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (RagError, VectorError, CollectionNotFound) as exc:
            raise click.UsageError(exc.message, ctx) from None
        except CollectionBusy as exc:
            hint = "while a server has it open, query through it: --url http://127.0.0.1:4000"
            raise click.ClickException(f"{exc.message}; {hint}") from None


@click.group(cls=_Group)
def rag() -> None:
    """RAG pipelines: ingest documents into a collection, ask questions with citations."""


@rag.command()
@click.argument("path")
@click.option("--collection", "-c", required=True, help="Collection (or pipeline) name.")
@click.option("--url", default=None, help="Have this running server ingest (a path it can read).")
@click.option("--api-key", default=None, help="Admin key for --url (default $LLMDECK_API_KEY).")
@config_option
@json_option
def ingest(
    path: str,
    collection: str,
    url: str | None,
    api_key: str | None,
    config_path: str | None,
    as_json: bool,
) -> None:
    """Ingest PATH (a file, a folder or a quoted glob) into a collection, incrementally:
    unchanged documents are skipped, changed ones replaced, removed ones deleted."""
    if url:
        key = api_key or os.environ.get("LLMDECK_API_KEY")
        summary = _remote_ingest(url, key, collection, str(Path(path).resolve()))
        if as_json:
            print_json(summary)
        else:
            click.echo(
                f"{collection}: {summary['written']} documents written, "
                f"{summary['skipped']} unchanged, {summary['removed']} removed; "
                f"{summary['chunks']} chunks ({summary['embedded']} embedded)"
            )
        for problem in summary.get("problems") or []:
            click.echo(f"skipped {problem}", err=True)
        if summary["status"] != "done":
            click.echo(f"error: ingestion {summary['status']}: {summary.get('error')}", err=True)
            sys.exit(1)
        return
    settings = load_settings(config_path, os.environ)
    with background_runtime(settings) as runtime, progress() as bar:
        task = bar.add_task(f"ingesting into {collection}", total=None, extra="")

        def show(report: IngestReport) -> None:
            bar.update(
                task,
                completed=report.files_done,
                total=report.files or None,
                extra=_progress_line(report),
            )

        report = runtime.rag.ingest(collection, path, progress=show)
    summary = report.to_dict()
    if as_json:
        print_json(summary)
    else:
        click.echo(
            f"{collection}: {report.written} documents written, {report.skipped} unchanged, "
            f"{report.removed} removed; {report.chunks} chunks ({report.embedded} embedded) "
            f"in {summary['seconds']:.1f}s"
        )
    for problem in report.problems:
        click.echo(f"skipped {problem}", err=True)


def _remote_ingest(url: str, key: str | None, collection: str, path: str) -> dict[str, Any]:
    """POST /api/rag/ingest, then follow the run with a progress bar until it ends."""
    headers = {"authorization": f"Bearer {key}"} if key else {}
    base = url.rstrip("/")
    try:
        with httpx.Client(timeout=30, headers=headers) as client, progress() as bar:
            started = client.post(
                f"{base}/api/rag/ingest", json={"collection": collection, "path": path}
            )
            _check(started)
            run: dict[str, Any] = started.json()
            task = bar.add_task(f"ingesting into {collection} on {url}", total=None, extra="")
            while run["status"] in ("queued", "running"):
                time.sleep(0.5)
                polled = client.get(f"{base}/api/rag/ingest/{run['id']}")
                _check(polled)
                run = polled.json()
                rate = run.get("chunks_per_s") or 0.0
                bar.update(
                    task,
                    completed=run["done"],
                    total=run["documents"] or None,
                    extra=f"{run['done']} docs, {run['chunks']} chunks, {rate:.1f} chunks/s",
                )
            return run
    except httpx.HTTPError as exc:
        click.echo(f"error: cannot reach {url}: {exc}", err=True)
        sys.exit(1)


def _progress_line(report: IngestReport) -> str:
    elapsed = max(report.elapsed, 1e-9)
    return (
        f"{report.done} docs, {report.chunks} chunks, "
        f"{report.done / elapsed:.1f} docs/s, {report.chunks / elapsed:.1f} chunks/s"
    )


@rag.command()
@click.argument("text")
@click.option("--collection", "-c", required=True, help="Collection (or pipeline) name.")
@click.option("--k", type=click.IntRange(1, 100), default=None, help="Chunks to retrieve.")
@click.option("--filter", "filter_json", default=None, help="Metadata filter, e.g. '{\"a\": 1}'.")
@click.option("--stream", is_flag=True, help="Print the answer as it is written.")
@click.option("--url", default=None, help="Ask this running server instead ($LLMDECK_URL).")
@click.option("--api-key", default=None, help="Key for --url (default $LLMDECK_API_KEY).")
@config_option
@json_option
def query(
    text: str,
    collection: str,
    k: int | None,
    filter_json: str | None,
    stream: bool,
    url: str | None,
    api_key: str | None,
    config_path: str | None,
    as_json: bool,
) -> None:
    """Answer TEXT from a collection, with citations."""
    flt = json_value(filter_json, "--filter")
    body = {"collection": collection, "query": text, "k": k, "filter": flt}
    url = url or os.environ.get("LLMDECK_URL")
    echo = None if as_json or not stream else _echo_delta
    if url:
        result = _remote(url, api_key or os.environ.get("LLMDECK_API_KEY"), body, echo)
    else:
        settings = load_settings(config_path, os.environ)
        with background_runtime(settings) as runtime:
            result = _local(runtime.rag, runtime.embedder.loop, body, echo)
    if as_json:
        print_json(result)
        return
    if stream:
        click.echo()
    else:
        click.echo(result["answer"])
    _show_sources(result)


def _echo_delta(content: str) -> None:
    click.echo(content, nl=False)


def _local(rag: RagService, loop: Any, body: dict[str, Any], echo: Any) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        args = (body["collection"], body["query"], body["k"])
        if echo is None:
            return (await rag.query(*args, filter=body["filter"])).to_dict()
        result: dict[str, Any] = {}
        async for event in rag.stream(*args, filter=body["filter"]):
            if event["type"] == "delta":
                echo(event["content"])
            elif event["type"] == "done":
                result = {k: v for k, v in event.items() if k != "type"}
        return result

    try:
        return asyncio.run_coroutine_threadsafe(run(), loop).result()
    except (RagError, VectorError, CollectionNotFound, CollectionBusy):
        raise
    except ApiError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)


def _remote(url: str, key: str | None, body: dict[str, Any], echo: Any) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    address = url.rstrip("/") + "/api/rag/query"
    payload = {k: v for k, v in body.items() if v is not None} | {"stream": echo is not None}
    try:
        with httpx.Client(timeout=120) as client:
            if echo is None:
                response = client.post(address, json=payload, headers=headers)
                _check(response)
                result: dict[str, Any] = response.json()
                return result
            with client.stream("POST", address, json=payload, headers=headers) as response:
                if response.status_code >= 400:
                    response.read()
                    _check(response)
                return _read_events(response, echo)
    except httpx.HTTPError as exc:
        click.echo(f"error: cannot reach {url}: {exc}", err=True)
        sys.exit(1)


def _read_events(response: httpx.Response, echo: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for line in response.iter_lines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = orjson.loads(line[6:])
        if event["type"] == "delta":
            echo(event["content"])
        elif event["type"] == "done":
            result = {k: v for k, v in event.items() if k != "type"}
        elif event["type"] == "error":
            click.echo(f"\nerror: {event['error']['message']}", err=True)
            sys.exit(1)
    return result


def _check(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text[:300]
    click.echo(f"error: {response.status_code}: {message}", err=True)
    sys.exit(2 if response.status_code in (400, 404, 422) else 1)


def _show_sources(result: dict[str, Any]) -> None:
    if result.get("degraded"):
        errors.print(f"[yellow]degraded:[/] {', '.join(result['degraded'])}")
    rows = [
        [
            f"[{c['marker']}]",
            c["document_id"],
            f"{c['start']}-{c['end']}",
            f"{c['score']:.4f}",
            "yes" if c["cited"] else "",
        ]
        for c in result.get("citations", [])
    ]
    if rows:
        print_table(["", "document", "chars", "score", "cited"], rows, title="sources")
    risk = result.get("grounded_risk")
    if risk is not None:
        click.echo(f"groundedness risk {risk:.2f} (0: every sentence supported by the sources)")
