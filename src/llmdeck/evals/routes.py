"""/api/datasets and /api/experiments: datasets (list, create, import, export, items, from
traces) and experiments (list, start as a job, get with per-item results, compare), plus the
online scores' time series. The server mounts them behind the admin guard."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmdeck.errors import BadRequest, LlmdeckError
from llmdeck.evals.experiments import ExperimentRequest, Experiments, run_body
from llmdeck.evals.from_traces import TraceFilter, items_from_traces
from llmdeck.evals.items import Item, item_from_row, read_csv, read_jsonl, to_csv, to_jsonl
from llmdeck.evals.online import score_series
from llmdeck.evals.service import Evals
from llmdeck.web import json_response, read_body, read_model


class DatasetCreate(BaseModel):
    """POST /api/datasets."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str | None = None
    items: list[dict[str, Any]] = Field(default_factory=list)


class ItemsAdd(BaseModel):
    """POST /api/datasets/{name}/items."""

    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(min_length=1)


def _items(rows: list[dict[str, Any]]) -> list[Item]:
    try:
        return [item_from_row(row, f"items[{i}]") for i, row in enumerate(rows)]
    except LlmdeckError as exc:
        raise BadRequest(str(exc), param="items") from None


def _int(request: Request, key: str) -> int | None:
    value = request.query_params.get(key)
    if value is None or value == "":
        return None
    if not value.lstrip("v").isdigit():
        raise BadRequest(f"{key} must be a whole number", param=key)
    return int(value.lstrip("v"))


class _Handlers:
    def __init__(self, evals: Evals, experiments: Experiments) -> None:
        self.evals = evals
        self.experiments = experiments

    async def list_datasets(self, request: Request) -> Response:
        return json_response({"datasets": await self.evals.datasets.list_datasets()})

    async def create(self, request: Request) -> Response:
        body = await read_model(request, DatasetCreate)
        info = await self.evals.datasets.add(
            body.name, _items(body.items), description=body.description, source="api"
        )
        return json_response(info, 201)

    async def show(self, request: Request) -> Response:
        return json_response(await self.evals.datasets.info(request.path_params["name"]))

    async def delete(self, request: Request) -> Response:
        await self.evals.datasets.delete(request.path_params["name"])
        return json_response({"deleted": request.path_params["name"]})

    async def items(self, request: Request) -> Response:
        offset, limit = _int(request, "offset") or 0, _int(request, "limit") or 100
        version, found = await self.evals.datasets.items(
            request.path_params["name"], _int(request, "version"), offset=offset, limit=limit
        )
        return json_response({"version": version, "items": [i.to_dict() for i in found]})

    async def add_items(self, request: Request) -> Response:
        body = await read_model(request, ItemsAdd)
        info = await self.evals.datasets.add(request.path_params["name"], _items(body.items))
        return json_response(info)

    async def import_file(self, request: Request) -> Response:
        """The body is a JSONL file, or CSV (`?format=csv` or a text/csv content type)."""
        name = request.path_params["name"]
        text = (await read_body(request)).decode("utf-8", errors="replace")
        csv = request.query_params.get("format") == "csv" or "csv" in request.headers.get(
            "content-type", ""
        )
        try:
            found = read_csv(text, "body") if csv else read_jsonl(text, "body")
        except LlmdeckError as exc:
            raise BadRequest(str(exc)) from None
        info = await self.evals.datasets.add(name, found, source="import")
        return json_response({**info.__dict__, "imported": len(found)})

    async def export(self, request: Request) -> Response:
        fmt = request.query_params.get("format", "jsonl")
        if fmt not in ("jsonl", "csv"):
            raise BadRequest("format must be jsonl or csv", param="format")
        name = request.path_params["name"]
        version, found = await self.evals.datasets.items(name, _int(request, "version"))
        body = to_csv(found) if fmt == "csv" else to_jsonl(found)
        media = "text/csv" if fmt == "csv" else "application/x-ndjson"
        disposition = f'attachment; filename="{name}-v{version}.{fmt}"'
        return Response(body, media_type=media, headers={"content-disposition": disposition})

    async def from_traces(self, request: Request) -> Response:
        flt = await read_model(request, TraceFilter)
        found = await items_from_traces(self.evals.store, flt)
        if not found:
            return json_response({"added": 0})
        info = await self.evals.datasets.add(request.path_params["name"], found, source="traces")
        return json_response({"added": len(found), "dataset": info})

    async def list_runs(self, request: Request) -> Response:
        runs = await self.evals.runs.list_runs(_int(request, "limit") or 100,
                                               request.query_params.get("name"))  # fmt: skip
        return json_response({"experiments": [r.to_dict() for r in runs]})

    async def start(self, request: Request) -> Response:
        body = await read_model(request, ExperimentRequest)
        if body.dataset.endswith((".jsonl", ".csv")):
            raise BadRequest("dataset: name a registered dataset (import the file first)",
                             param="dataset")  # fmt: skip
        run = await self.experiments.start(body)
        return json_response(run.to_dict(), 202)

    async def get_run(self, request: Request) -> Response:
        return json_response(run_body(await self.evals.runs.get(request.path_params["id"])))

    async def compare(self, request: Request) -> Response:
        a, b = request.query_params.get("a"), request.query_params.get("b")
        if not a or not b:
            raise BadRequest("give the two runs as ?a=RUN&b=RUN", param="a")
        return json_response((await self.evals.compare(a, b)).to_dict())

    async def online(self, request: Request) -> Response:
        hours = float(request.query_params.get("hours", "24") or 24)
        step = _int(request, "step") or 3600
        return json_response(await score_series(self.evals, hours=hours, step=max(60, step)))


def routes(evals: Evals, experiments: Experiments) -> list[BaseRoute]:
    """The /api/datasets and /api/experiments routes."""
    h = _Handlers(evals, experiments)
    sets, runs = "/api/datasets", "/api/experiments"
    return [
        Route(sets, h.list_datasets, methods=["GET"]),
        Route(sets, h.create, methods=["POST"]),
        Route(sets + "/{name}", h.show, methods=["GET"]),
        Route(sets + "/{name}", h.delete, methods=["DELETE"]),
        Route(sets + "/{name}/items", h.items, methods=["GET"]),
        Route(sets + "/{name}/items", h.add_items, methods=["POST"]),
        Route(sets + "/{name}/import", h.import_file, methods=["POST"]),
        Route(sets + "/{name}/export", h.export, methods=["GET"]),
        Route(sets + "/{name}/from-traces", h.from_traces, methods=["POST"]),
        Route(runs, h.list_runs, methods=["GET"]),
        Route(runs, h.start, methods=["POST"]),
        Route(runs + "/compare", h.compare, methods=["GET"]),
        Route(runs + "/online", h.online, methods=["GET"]),
        Route(runs + "/{id}", h.get_run, methods=["GET"]),
    ]
