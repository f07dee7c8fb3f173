"""`llmdeck traces export` writes JSONL; `llmdeck traces tail` follows live traffic."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import orjson
from click.testing import CliRunner

from llmdeck.cli import cli
from llmdeck.testing.server import ServerThread

CHAT = {"model": "gpt", "messages": [{"role": "user", "content": "hello"}]}


def test_export_writes_jsonl_with_filters(server: ServerThread, tmp_path: Path) -> None:
    for tags in (["a"], ["b"], ["a"]):
        httpx.post(f"{server.url}/v1/chat/completions", json={**CHAT, "tags": tags})
    server.runtime.recorder.flush()
    out = tmp_path / "traces.jsonl"
    result = CliRunner().invoke(
        cli,
        ["traces", "export", "--url", server.url, "--tag", "a", "--since", "1h", "-o", str(out)],
    )
    assert result.exit_code == 0, result.output
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert len(lines) == 2 and all(t["tags"] == ["a"] for t in lines)
    assert lines[0]["spans"][0]["model_alias"] == "gpt" and lines[0]["input"]
    everything = CliRunner().invoke(cli, ["traces", "export", "--url", server.url, "--limit", "1"])
    assert everything.exit_code == 0 and len(everything.output.splitlines()) == 1


def test_export_names_an_unreachable_server() -> None:
    result = CliRunner().invoke(cli, ["traces", "export", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1 and "cannot reach the server" in str(result.exception)


def test_tail_follows_new_spans(server: ServerThread) -> None:
    results = []

    def follow() -> None:
        args = ["traces", "tail", "--url", server.url, "--count", "1", "--json", "--model", "gpt"]
        results.append(CliRunner().invoke(cli, args))

    thread = threading.Thread(target=follow)
    thread.start()
    time.sleep(0.5)
    trace_id = httpx.post(f"{server.url}/v1/chat/completions", json=CHAT).headers[
        "x-llmdeck-trace-id"
    ]
    thread.join(15)
    (result,) = results
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output)["trace_id"] == trace_id
