"""llmdeck quickstart"""

from __future__ import annotations

import os

import click

from llmdeck.cli.serve import run_server
from llmdeck.config import load_settings

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


@click.command()
@click.option("--port", type=int, default=None, help="Port (default 4000).")
def quickstart(port: int | None) -> None:
    """Run the embedded demo: local models, SQLite under .llmdeck/, no services, no keys."""
    settings = load_settings(None, os.environ, discover=False)
    run_server(settings, port=port, banner=TOUR)
