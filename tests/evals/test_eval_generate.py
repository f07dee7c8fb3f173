"""`llmdeck eval generate`: draft question/answer items from a collection's chunks through a
model, saved as a draft dataset; unreadable replies are skipped and reported."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import orjson
import yaml

from llmdeck.config import load_settings
from llmdeck.evals.local import local_evals
from llmdeck.testing import FakeProvider

PASSAGES = {
    "spiders": "A spider has eight legs and spins silk.",
    "ants": "Ants are insects with six legs that live in colonies.",
    "owls": "Owls hunt at night and can turn their heads far around.",
    "bees": "Bees make honey from the nectar of flowers.",
}


def test_generate_drafts_a_dataset(tmp_path: Path, fake: FakeProvider) -> None:
    reply = '{"question": "How many legs?", "answer": "Eight."}'
    deployment = {
        "provider": "openai", "model": "fake-chat", "api_base": fake.openai_base,
        "api_key": "sk-fake", "headers": FakeProvider.header(reply=reply),
    }  # fmt: skip
    config = tmp_path / "llmdeck.yaml"
    config.write_text(yaml.safe_dump({"models": [
        {"name": "chat", "deployments": [deployment]},
        {"name": "embed", "deployments": [{"provider": "local", "model": "default-embedding"}]},
    ]}))  # fmt: skip
    docs = tmp_path / "docs.jsonl"
    docs.write_bytes(b"".join(orjson.dumps({"id": k, "text": v}) + b"\n"
                              for k, v in PASSAGES.items()))  # fmt: skip
    env = {**os.environ, "LLMDECK_HOME": str(tmp_path / "home")}

    def llmdeck(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "llmdeck", *args, "--config", str(config)]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert llmdeck("vectors", "create", "docs").returncode == 0
    assert llmdeck("vectors", "upsert", "docs", str(docs)).returncode == 0
    done = llmdeck("eval", "generate", "--collection", "docs", "--n", "3", "--json")
    assert done.returncode == 0, done.stderr
    result = orjson.loads(done.stdout)
    assert result == {"dataset": "docs-draft", "drafted": 3, "skipped": [], "version": 1}
    chats = [r for r in fake.requests if r.path.endswith("chat/completions")]
    asked = [r.body["messages"][0]["content"] for r in chats]
    assert len(asked) == 3 and all("Passage:" in a for a in asked)

    settings = load_settings(config, {"LLMDECK_HOME": str(tmp_path / "home")})

    async def stored() -> None:
        async with local_evals(settings) as evals:
            info = await evals.datasets.info("docs-draft")
            assert info.draft and info.item_count == 3
            _, items = await evals.datasets.items("docs-draft")
            for item in items:
                assert item.input == "How many legs?" and item.expected == "Eight."
                (passage,) = item.context
                assert passage in asked[0] + asked[1] + asked[2]
                assert item.relevant_ids[0] in PASSAGES
                assert PASSAGES[item.relevant_ids[0]] == passage

    asyncio.run(stored())
    missing = llmdeck("eval", "generate", "--collection", "nope")
    assert missing.returncode == 2 and "nope" in missing.stderr
