"""The background side of observability in a server: the recorder's writer, the exporter and
the retention task, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib

from llmdeck.observe.export import Exporter
from llmdeck.observe.recorder import Recorder
from llmdeck.observe.retention import Retention


class Background:
    """Starts and stops what runs behind the recorder."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        settings = recorder.settings
        self.exporter = Exporter(settings.export) if settings.export is not None else None
        if self.exporter is not None:
            recorder.listeners.append(self.exporter.offer)
            recorder.metrics.add_collector(self.exporter.collect)
        self.retention = Retention(recorder.store, settings.retention)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the writer, the exporter and the retention task."""
        self.recorder.start()
        if self.exporter is not None:
            self.exporter.start()
        self._task = asyncio.create_task(self.retention.run_forever(), name="llmdeck-retention")

    async def close(self) -> None:
        """Stop retention, write what is queued, send what is left to export."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self.recorder.close)
        if self.exporter is not None:
            await asyncio.to_thread(self.exporter.close)
