"""`FakeProvider`: a real HTTP server on 127.0.0.1 speaking OpenAI and Anthropic, with knobs.

with FakeProvider() as fake:                      # a background thread with its own loop
    client = openai.OpenAI(base_url=fake.openai_base, api_key="x")
    fake.set(status=429, retry_after=1)           # every following request gets a 429
    ...
    fake.requests[-1].body["messages"]            # what the client sent

async with FakeProvider(latency=0.05) as fake:    # or inside a running event loop
    ...
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Self

import orjson
from aiohttp import web

from llmdeck.testing.app import FakeApp
from llmdeck.testing.control import Control, RecordedRequest
from llmdeck.testing.knobs import BEHAVIOUR_HEADER, Behaviour

_SHUTDOWN_TIMEOUT = 1.0
_BACKLOG = 4096


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.new_event_loop
    return uvloop.new_event_loop


class FakeProvider:
    """A fake OpenAI + Anthropic provider on one port.

    Knobs are given as a `Behaviour`, as keyword arguments laid over it, or both, and can be
    changed at any time with `set()`. `log_size` bounds the request log (`None`: unbounded,
    0: no log; the counts are kept either way).
    """

    def __init__(
        self,
        behaviour: Behaviour | None = None,
        /,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        log_size: int | None = 10_000,
        **knobs: Any,
    ) -> None:
        base = behaviour or Behaviour()
        self._control = Control(base.merged(knobs) if knobs else base, log_size)
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._stop_thread: Callable[[], object] | None = None

    # Where it listens.

    @property
    def port(self) -> int:
        """The port it listens on (known once started)."""
        if self._port is None:
            raise RuntimeError("the fake provider is not started")
        return self._port

    @property
    def url(self) -> str:
        """`http://HOST:PORT`."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base(self) -> str:
        """The base URL for OpenAI clients: `http://HOST:PORT/v1`."""
        return f"{self.url}/v1"

    @property
    def anthropic_base(self) -> str:
        """The base URL for Anthropic clients: `http://HOST:PORT`."""
        return self.url

    # Knobs.

    @property
    def behaviour(self) -> Behaviour:
        """The knobs in force."""
        return self._control.behaviour

    def set(self, behaviour: Behaviour | None = None, /, **knobs: Any) -> Behaviour:
        """Change the knobs for the following requests: replace them with `behaviour` if given,
        and lay `knobs` over them. Returns the knobs now in force; raises `ValueError`."""
        return self._control.set(behaviour, knobs)

    def reset(self) -> None:
        """Back to the knobs the fake was made with; the failure sequence restarts."""
        self._control.reset()

    @staticmethod
    def header(**knobs: Any) -> dict[str, str]:
        """The `x-fake-behaviour` header that gives one request these knobs."""
        validated = Behaviour().merged(knobs)
        changes = validated.model_dump(mode="json", include=set(knobs))
        return {BEHAVIOUR_HEADER: orjson.dumps(changes).decode()}

    # What it received.

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received, oldest first (the last `log_size` of them)."""
        return self._control.requests

    @property
    def counts(self) -> dict[str, int]:
        """Requests by outcome ("ok", "error:429", "drop", "hang", "cut", "error_event") and
        "total"."""
        return self._control.counts

    def clear(self) -> None:
        """Empty the request log and zero the counts."""
        self._control.clear()

    # Lifecycle, in a background thread.

    def start(self) -> Self:
        """Serve from a background thread with its own event loop; returns once listening."""
        if self._port is not None:
            raise RuntimeError("the fake provider is already started")
        sock = self._bind()
        ready: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run_thread,
            args=(sock, ready),
            name=f"fake-provider:{self._port}",
            daemon=True,
        )
        self._thread.start()
        try:
            ready.result(timeout=30)
        except BaseException:
            self._thread.join()
            self._thread, self._port = None, None
            raise
        return self

    def stop(self) -> None:
        """Stop serving: hanging requests are dropped, and the thread ends."""
        if self._thread is None or self._stop_thread is None:
            if self._runner is not None:
                raise RuntimeError("started with astart(): stop it with astop()")
            return
        self._stop_thread()
        self._thread.join()
        self._thread, self._stop_thread, self._port = None, None, None

    def _run_thread(self, sock: socket.socket, ready: Future[None]) -> None:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(self._serve_until_stopped(sock, ready))

    async def _serve_until_stopped(self, sock: socket.socket, ready: Future[None]) -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        try:
            await self._open(sock)
        except BaseException as err:
            ready.set_exception(err)
            raise
        self._stop_thread = lambda: loop.call_soon_threadsafe(stopping.set)
        ready.set_result(None)
        await stopping.wait()
        await self._close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # Lifecycle, in the running event loop.

    async def astart(self) -> Self:
        """Serve from the running event loop; returns once listening."""
        if self._port is not None:
            raise RuntimeError("the fake provider is already started")
        try:
            await self._open(self._bind())
        except BaseException:
            self._port = None
            raise
        return self

    async def astop(self) -> None:
        """Stop serving from the running event loop."""
        if self._thread is not None:
            raise RuntimeError("started with start(): stop it with stop()")
        if self._runner is not None:
            await self._close()
            self._port = None

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.astop()

    # Both.

    def _bind(self) -> socket.socket:
        """Listen now, so the port is known and connections queue until the loop accepts them."""
        sock = socket.create_server((self.host, self._requested_port), backlog=_BACKLOG)
        self._port = sock.getsockname()[1]
        return sock

    async def _open(self, sock: socket.socket) -> None:
        self._closing = asyncio.Event()
        app = FakeApp(self._control, self._closing).build()
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        try:
            await runner.setup()
            await web.SockSite(runner, sock, backlog=_BACKLOG).start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._runner = runner

    async def _close(self) -> None:
        assert self._closing is not None and self._runner is not None
        self._closing.set()
        await self._runner.cleanup()
        self._runner = None
