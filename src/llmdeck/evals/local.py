"""`local_evals(settings)`: the evaluation service on its own (the CLI, benchmarks): the
database, the recorder, the prompt registry and a gateway in this process, no server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from llmdeck.config import Settings
from llmdeck.evals.service import Evals
from llmdeck.gateway import Gateway
from llmdeck.observe import Recorder
from llmdeck.prompts import Prompts
from llmdeck.store import open_store


@contextlib.asynccontextmanager
async def local_evals(settings: Settings) -> AsyncIterator[Evals]:
    """Open the parts, yield the service, and write every trace and score before closing."""
    store = await asyncio.to_thread(open_store, settings.effective_database_url)
    recorder = Recorder(store, settings.observe)
    recorder.start()
    prompts = Prompts(store, settings.prompts)
    gateway = Gateway(settings, recorder, prompts=prompts)
    try:
        await gateway.start()
        try:
            yield Evals(store, gateway, prompts=prompts, recorder=recorder,
                        settings=settings.evals)  # fmt: skip
        finally:
            await gateway.close()
    finally:
        await asyncio.to_thread(recorder.close)
        await asyncio.to_thread(store.close)
