"""Run llmdeck itself in a background thread on 127.0.0.1, for tests of applications that call
it (and llmdeck's own tests)."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import uvicorn

from llmdeck.config import Settings
from llmdeck.server import Runtime, create_app


class ServerThread:
    """A real uvicorn server for `settings` on a free port, in its own thread and event loop
    (with `runtime`, that one: e.g. a gateway given a key resolver)."""

    def __init__(
        self, settings: Settings, *, port: int = 0, runtime: Runtime | None = None
    ) -> None:
        self.app = create_app(settings, runtime)
        self.runtime: Runtime = self.app.state.runtime
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="llmdeck-server", daemon=True)
        self.port = port

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerThread:
        """Start and wait until the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("llmdeck server did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Shut down gracefully (the recorder flushes)."""
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
