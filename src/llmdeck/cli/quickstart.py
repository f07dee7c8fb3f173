"""llmdeck quickstart"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

import llmdeck
from llmdeck.cli.serve import run_server
from llmdeck.config import PipelineSettings, RagSettings, Settings, load_settings

TOUR = """
Try it (no API keys needed; the `chat` model answers from the text you give it):

  curl -s {url}/v1/chat/completions -H 'content-type: application/json' -d '{
    "model": "chat",
    "messages": [
      {"role": "system", "content": "llmdeck runs on a laptop with no services."},
      {"role": "user", "content": "What does llmdeck run on?"}]}'

Or with the OpenAI SDK:

  from openai import OpenAI
  client = OpenAI(base_url="{url}/v1", api_key="unused")
  reply = client.chat.completions.create(model="chat", messages=[
      {"role": "system", "content": "Paris is the capital of France."},
      {"role": "user", "content": "What is the capital of France?"}])
  print(reply.choices[0].message.content)

Web UI: {url}/ui/    Health: {url}/health/ready    Stop: Ctrl+C
"""

RAG_TOUR = """
Ask llmdeck's own docs (ingesting {docs} into the `docs` collection in the background;
unchanged files are skipped on the next start):

  curl -s {url}/api/rag/query -H 'content-type: application/json' \\
    -d '{"collection": "docs", "query": "How do I roll back a prompt label?"}'
  llmdeck rag query "How does semantic caching work?" --collection docs --url {url}
  RAG page: {url}/ui/rag
"""


def docs_folder() -> Path | None:
    """llmdeck's own docs/: in the working directory (a checkout, as `make run` uses), else
    beside the installed package (an editable install)."""
    for candidate in (Path.cwd() / "docs", Path(llmdeck.__file__).resolve().parents[2] / "docs"):
        if (candidate / "architecture.md").is_file():
            return candidate
    return None


def with_docs_pipeline(settings: Settings, docs: Path) -> Settings:
    """`settings` plus a `docs` pipeline that ingests `docs` at start."""
    pipeline = PipelineSettings(source=str(docs / "*.md"), collection="docs", ingest_on_start=True)
    pipelines = {**settings.rag.pipelines, "docs": pipeline}
    rag = RagSettings.model_validate({**settings.rag.model_dump(), "pipelines": pipelines})
    return settings.model_copy(update={"rag": rag})


@click.command()
@click.option("--port", type=int, default=None, help="Port (default 4000).")
def quickstart(port: int | None) -> None:
    """Run the embedded demo: local models, SQLite under .llmdeck/, no services, no keys;
    llmdeck's own docs ingested into the `docs` collection for RAG."""
    settings = load_settings(None, os.environ, discover=False)
    banner = TOUR
    docs = docs_folder()
    if docs is not None:
        settings = with_docs_pipeline(settings, docs)
        banner += RAG_TOUR.replace("{docs}", str(docs))
        _show_ingestion_progress()
    run_server(settings, port=port, banner=banner)


def _show_ingestion_progress() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("rag: %(message)s"))
    logger = logging.getLogger("llmdeck.rag")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
