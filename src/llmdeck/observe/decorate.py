"""`@observe` for every kind of function: sync, async, generators and async generators. A
generator's span lasts until it is exhausted; its output is what it yielded (joined if text)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from llmdeck.observe.span import SpanKind

if TYPE_CHECKING:
    from llmdeck.observe.tracing import ActiveSpan, Tracer

F = TypeVar("F", bound=Callable[..., Any])
Start = Callable[[Any, Any], "ActiveSpan"]


def _inputs(signature: inspect.Signature | None, args: Any, kwargs: Any) -> Any:
    if signature is None:
        return {"args": list(args), **kwargs}
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:
        return {"args": list(args), **kwargs}
    return {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}


def _joined(items: list[Any]) -> Any:
    return "".join(items) if items and all(isinstance(i, str) for i in items) else items


def wrap(
    tracer: Tracer, fn: F, name: str, kind: SpanKind, capture_in: bool, capture_out: bool
) -> F:
    """`fn`, recording a span per call while `tracer` has a sink."""
    try:
        signature: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):
        signature = None

    def start(args: Any, kwargs: Any) -> ActiveSpan:
        given = _inputs(signature, args, kwargs) if capture_in else None
        return tracer.span(name, kind=kind, input=given)

    if inspect.iscoroutinefunction(fn):
        return _async(tracer, fn, start, capture_out)
    if inspect.isasyncgenfunction(fn):
        return _async_generator(tracer, fn, start, capture_out)
    if inspect.isgeneratorfunction(fn):
        return _generator(tracer, fn, start, capture_out)
    return _sync(tracer, fn, start, capture_out)


def _sync(tracer: Tracer, fn: F, start: Start, capture: bool) -> F:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if tracer.sink is None:
            return fn(*args, **kwargs)
        with start(args, kwargs) as span:
            result = fn(*args, **kwargs)
            if capture:
                span.span.output = result
            return result

    return run  # type: ignore[return-value]


def _async(tracer: Tracer, fn: F, start: Start, capture: bool) -> F:
    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        if tracer.sink is None:
            return await fn(*args, **kwargs)
        with start(args, kwargs) as span:
            result = await fn(*args, **kwargs)
            if capture:
                span.span.output = result
            return result

    return run  # type: ignore[return-value]


def _generator(tracer: Tracer, fn: F, start: Start, capture: bool) -> F:
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        if tracer.sink is None:
            return (yield from fn(*args, **kwargs))
        with start(args, kwargs) as span:
            items = []
            for item in fn(*args, **kwargs):
                items.append(item)
                yield item
            if capture:
                span.span.output = _joined(items)

    return run  # type: ignore[return-value]


def _async_generator(tracer: Tracer, fn: F, start: Start, capture: bool) -> F:
    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        if tracer.sink is None:
            async for item in fn(*args, **kwargs):
                yield item
            return
        with start(args, kwargs) as span:
            items = []
            async for item in fn(*args, **kwargs):
                items.append(item)
                yield item
            if capture:
                span.span.output = _joined(items)

    return run  # type: ignore[return-value]
