"""HTTP routes of observability: OTLP ingest and feedback scores (for applications), the traces,
events and analytics API (for admins), and /metrics. The server puts each list behind its guard.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from llmdeck.errors import ApiError, BadRequest, PayloadTooLarge
from llmdeck.observe import analytics, query
from llmdeck.observe.otlp import from_json, from_protobuf, to_span
from llmdeck.observe.params import Params
from llmdeck.observe.recorder import Recorder
from llmdeck.observe.span import Score, ScoreSource, ScoreType, Span
from llmdeck.store import tables
from llmdeck.web import json_response, parse_model, read_body

_PROTOBUF = "application/x-protobuf"


class Overloaded(ApiError):
    """503: the recorder's queue cannot take the batch now; OTLP exporters retry."""

    status = 503
    type = "overloaded_error"

    def headers(self) -> dict[str, str]:
        return {"retry-after": "1"}


class ScoreIn(BaseModel):
    """A score posted by an application, an evaluator or a detector."""

    name: str = Field(min_length=1, max_length=200)
    value: float | bool | str
    data_type: ScoreType | None = None
    source: ScoreSource = "user"
    comment: str | None = None
    span_id: str | None = None
    metadata: dict[str, Any] | None = None
    id: str | None = Field(default=None, min_length=1, max_length=64)

    def score(self, trace_id: str, key_id: str | None) -> Score:
        """The Score to store (BadRequest when value and data_type disagree)."""
        kind = self.data_type or _kind_of(self.value)
        number: float | None = None
        text: str | None = None
        if kind == "boolean":
            if not isinstance(self.value, bool) and self.value not in (0, 1):
                raise BadRequest("value: a boolean score needs true or false", param="value")
            number, text = float(bool(self.value)), str(bool(self.value)).lower()
        elif kind == "numeric":
            if isinstance(self.value, str | bool):
                raise BadRequest("value: a numeric score needs a number", param="value")
            number = float(self.value)
        else:
            text = str(self.value)
        score = Score(
            trace_id=trace_id, name=self.name, data_type=kind, value=number, string_value=text,
            span_id=self.span_id, source=self.source, comment=self.comment,
            metadata=self.metadata, key_id=key_id,
        )  # fmt: skip
        if self.id:
            score.id = self.id
        return score


def _kind_of(value: float | bool | str) -> Literal["numeric", "boolean", "categorical"]:
    if isinstance(value, bool):
        return "boolean"
    return "categorical" if isinstance(value, str) else "numeric"


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise BadRequest(f"content-encoding {encoding!r} is not supported (gzip, deflate)")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(body, limit + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise BadRequest(f"the body is not valid {encoding}: {exc}") from None
    if len(data) > limit:
        raise PayloadTooLarge(f"the decompressed body is over the limit of {limit} bytes")
    return data


def decode_spans(body: bytes, content_type: str) -> list[Span]:
    """The llmdeck spans of an OTLP request body."""
    wire = from_json(body) if "json" in content_type else from_protobuf(body)
    return [to_span(span) for span in wire]


def ingest_routes(recorder: Recorder, limit: int) -> list[BaseRoute]:
    """Routes for applications: OTLP trace ingest and feedback scores."""

    async def otlp(request: Request) -> Response:
        content_type = request.headers.get("content-type", _PROTOBUF).split(";")[0].strip()
        body = _decompress(
            await read_body(request, limit), request.headers.get("content-encoding", ""), limit
        )
        # Decoding is CPU work: off the event loop for big batches, so gateway calls go on.
        if len(body) > 64 * 1024:
            spans = await asyncio.to_thread(decode_spans, body, content_type)
        else:
            spans = decode_spans(body, content_type)
        if spans and not recorder.record_many(spans):
            raise Overloaded("the trace queue is full; retry shortly", code="queue_full")
        if "json" in content_type:
            return json_response({})
        return Response(b"", media_type=_PROTOBUF)

    async def score(request: Request) -> Response:
        body = parse_model(ScoreIn, await read_body(request, 1024 * 1024))
        principal = getattr(request.state, "principal", None)
        item = body.score(request.path_params["trace_id"], getattr(principal, "key_id", None))
        if "span_id" in request.path_params:
            item.span_id = request.path_params["span_id"]
        store = recorder.store
        insert = store.insert_ignore(tables.scores)
        await store.awrite(lambda conn: conn.execute(insert, [item.row()]))
        return json_response({"id": item.id, "trace_id": item.trace_id}, 201)

    return [
        Route("/otlp/v1/traces", otlp, methods=["POST"]),
        Route("/api/traces/{trace_id}/scores", score, methods=["POST"]),
        Route("/api/traces/{trace_id}/spans/{span_id}/scores", score, methods=["POST"]),
    ]


def api_routes(recorder: Recorder) -> list[BaseRoute]:
    """Admin routes: traces, live spans, events and analytics."""
    store = recorder.store
    retention = recorder.settings.retention

    async def list_traces(request: Request) -> Response:
        params = Params(request.query_params)
        where = query.TraceFilter.from_params(params)
        options = {
            "limit": params.integer("limit", 50, 1, 500),
            "cursor": params.text("cursor"),
            "io": params.flag("io") or params.flag("full"),
            "spans": params.flag("full"),
        }
        return json_response(await query.asearch(store, where, **options))

    async def get_trace(request: Request) -> Response:
        trace_id = request.path_params["trace_id"].lower()
        return json_response(await store.aread(lambda conn: query.get_trace(conn, trace_id)))

    async def live(request: Request) -> Response:
        params = Params(request.query_params)
        after = params.integer("after", 0, 0, 2**62)
        wait = params.number("wait", 0.0) or 0.0
        match = _span_filter(params)
        deadline = asyncio.get_running_loop().time() + min(max(wait, 0.0), 10.0)
        spans, cursor = recorder.live.after(after, match)
        while not spans and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.1)
            spans, cursor = recorder.live.after(cursor, match)
        body = {"instance": recorder.live.instance, "cursor": cursor, "spans": spans}
        return json_response(body)

    async def events(request: Request) -> Response:
        params = Params(request.query_params)
        return json_response({"data": await store.aread(lambda c: query.list_events(c, params))})

    def analytics_route(series: bool) -> Any:
        async def answer(request: Request) -> Response:
            asked = analytics.Query.from_params(Params(request.query_params), series=series)
            result = await store.aread(lambda conn: analytics.run(conn, asked, retention))
            return json_response(result)

        return answer

    return [
        Route("/api/traces", list_traces, methods=["GET"]),
        Route("/api/spans/live", live, methods=["GET"]),
        Route("/api/traces/{trace_id}", get_trace, methods=["GET"]),
        Route("/api/events", events, methods=["GET"]),
        Route("/api/analytics/summary", analytics_route(False), methods=["GET"]),
        Route("/api/analytics/timeseries", analytics_route(True), methods=["GET"]),
    ]


def _span_filter(params: Params) -> Any:
    wanted = {
        "model_alias": params.items("model"),
        "kind": params.items("kind"),
        "status": params.items("status"),
        "key_id": params.items("key"),
        "user_id": params.items("user"),
        "trace_id": params.items("trace"),
    }
    wanted = {k: v for k, v in wanted.items() if v}
    tags = params.items("tag")

    def match(span: Span) -> bool:
        for key, values in wanted.items():
            value = getattr(span, key)
            if key == "model_alias" and span.model in values:
                continue
            if value not in values:
                return False
        return not tags or bool(span.tags and set(tags) & set(span.tags))

    return match


def metrics_routes(recorder: Recorder) -> list[BaseRoute]:
    """GET /metrics in the Prometheus text format."""

    async def metrics(request: Request) -> Response:
        return Response(
            recorder.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    return [Route("/metrics", metrics, methods=["GET"])]
