"""The management API: the admin guard, feedback scores, events, /metrics, live spans."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from tests.observe.conftest import get

from llmdeck.observe import Event
from llmdeck.testing.server import ServerThread

CHAT = {"model": "gpt", "messages": [{"role": "user", "content": "hello"}]}


def chat(server: ServerThread, key: str | None = None, **extra: Any) -> str:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    response = httpx.post(
        f"{server.url}/v1/chat/completions", json={**CHAT, **extra}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.headers["x-llmdeck-trace-id"]


def test_admin_key_guards_the_api(start_server: Callable[..., ServerThread]) -> None:
    server = start_server(admin_key="adm-1")
    url = server.url
    assert httpx.get(f"{url}/api/traces").status_code == 401
    assert httpx.get(f"{url}/metrics").status_code == 401
    wrong = httpx.get(f"{url}/api/traces", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    admin = {"authorization": "Bearer adm-1"}
    assert httpx.get(f"{url}/api/traces", headers=admin).status_code == 200
    assert httpx.post(f"{url}/otlp/v1/traces", content=b"").status_code == 401
    assert httpx.post(f"{url}/otlp/v1/traces", content=b"", headers=admin).status_code == 200


def test_scores_on_traces_and_spans(server: ServerThread) -> None:
    trace_id = chat(server)
    url = f"{server.url}/api/traces/{trace_id}"
    span_id = get(server, f"/api/traces/{trace_id}")["spans"][0]["id"]
    assert httpx.post(f"{url}/scores", json={"name": "rating", "value": 4}).status_code == 201
    posted = httpx.post(
        f"{url}/spans/{span_id}/scores",
        json={"name": "tone", "value": "polite", "source": "evaluator", "comment": "ok"},
    )
    assert posted.status_code == 201
    bad = httpx.post(f"{url}/scores", json={"name": "x", "value": "yes", "data_type": "numeric"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "value"
    missing = httpx.post(f"{url}/scores", json={"value": 1})
    assert missing.status_code == 400 and "name" in missing.json()["error"]["message"]
    scores = {s["name"]: s for s in get(server, f"/api/traces/{trace_id}")["scores"]}
    assert scores["rating"]["value"] == 4.0 and scores["rating"]["data_type"] == "numeric"
    assert scores["tone"]["string_value"] == "polite" and scores["tone"]["span_id"] == span_id
    found = get(server, "/api/traces", score="rating", score_min="3")["data"]
    assert [t["id"] for t in found] == [trace_id]
    assert get(server, "/api/traces", score="rating", score_min="5")["data"] == []


def test_search_pagination_and_text(server: ServerThread) -> None:
    ids = [chat(server, user=f"user-{i}", tags=["t"]) for i in range(5)]
    chat(server, messages=[{"role": "user", "content": "a needle in here"}])
    page = get(server, "/api/traces", tag="t", limit="2")
    seen = [t["id"] for t in page["data"]]
    while page["next_cursor"]:
        page = get(server, "/api/traces", tag="t", limit="2", cursor=page["next_cursor"])
        seen += [t["id"] for t in page["data"]]
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    needle = get(server, "/api/traces", q="NEEDLE")["data"]
    assert len(needle) == 1 and needle[0]["name"] == "chat gpt"
    assert get(server, "/api/traces", user="user-3")["data"][0]["id"] == ids[3]
    assert get(server, "/api/traces", model="gpt", limit="100")["data"]
    assert get(server, "/api/traces", model="nope")["data"] == []
    assert httpx.get(f"{server.url}/api/traces/{'0' * 32}").status_code == 404


def test_metrics_exposition(server: ServerThread) -> None:
    chat(server)
    text = httpx.get(f"{server.url}/metrics").text
    assert 'llmdeck_requests_total{model="gpt",deployment="oa",key="",code="200"}' in text
    assert (
        'llmdeck_request_duration_seconds_bucket{model="gpt",deployment="oa",key="",le="+Inf"}'
        in text
    )
    assert "# TYPE llmdeck_request_duration_seconds histogram" in text
    assert 'llmdeck_tokens_total{model="gpt",deployment="oa",key="",type="input"}' in text
    assert "llmdeck_recorder_queue_depth " in text
    assert 'llmdeck_recorder_spans_total{outcome="dropped"} 0' in text


def test_events_and_live_spans(server: ServerThread) -> None:
    recorder = server.runtime.recorder
    recorder.record_event(Event(name="circuit.open", level="warning", attributes={"d": "oa"}))
    recorder.record_event(Event(name="budget.warning"))
    events = get(server, "/api/events", name="circuit.*")["data"]
    assert [(e["name"], e["level"], e["attributes"]) for e in events] == [
        ("circuit.open", "warning", {"d": "oa"})
    ]
    start = get(server, "/api/spans/live", after=str(2**62))
    trace_id = chat(server)
    live = get(server, "/api/spans/live", after=str(start["cursor"]), wait="5", model="gpt")
    assert [s["trace_id"] for s in live["spans"]] == [trace_id]
    none = get(server, "/api/spans/live", after=str(start["cursor"]), model="other")
    assert none["spans"] == [] and none["cursor"] == live["cursor"]


@pytest.mark.parametrize("path", ["/api/analytics/summary", "/api/analytics/timeseries"])
def test_analytics_over_http(server: ServerThread, path: str) -> None:
    chat(server)
    result = get(server, path, start="1h", group_by="model_alias,deployment")
    recorder = server.runtime.recorder
    assert len(result["series"]) == 1, (result, recorder.recorded, recorder.failed)
    (series,) = result["series"]
    assert series["group"] == {"model_alias": "gpt", "deployment": "oa"}
    requests = (
        series["requests"] if "requests" in series else sum(p["requests"] for p in series["points"])
    )
    assert requests == 1
