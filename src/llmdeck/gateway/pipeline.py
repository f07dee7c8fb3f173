"""Stages and their composition: each stage wraps the next, as Starlette builds middleware."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from llmdeck.gateway.call import Call, Reply

Next = Callable[[Call], Awaitable[Reply]]


class Stage(Protocol):
    """One step of the gateway flow: look at the call, call `next` (or not), return the reply."""

    async def __call__(self, call: Call, next: Next) -> Reply: ...


def compose(stages: Sequence[Stage], endpoint: Next) -> Next:
    """The pipeline that runs `stages` in order around `endpoint`."""
    handler = endpoint
    for stage in reversed(stages):
        handler = _link(stage, handler)
    return handler


def _link(stage: Stage, next_handler: Next) -> Next:
    async def run(call: Call) -> Reply:
        return await stage(call, next_handler)

    return run
