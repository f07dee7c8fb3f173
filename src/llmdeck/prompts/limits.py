"""What a template may spend while it renders: time, loop iterations, and size.

Sizes are measured as a value would print, with shared parts counted every time they appear
(`[s] * 1000` weighs 1000 times `s`), so that building a value is refused before it is built
wherever it could grow at once, and serialising one (`tojson`, `join`, output) cannot explode.
The budget of the render in progress lives in a context variable set by `render.render_template`.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from jinja2.exceptions import SecurityError

MAX_ITERATIONS = 100_000


@dataclass
class Budget:
    """The limits of one render: a deadline, loop iterations left, and the largest value."""

    deadline: float
    iterations: int
    max_chars: int


budget: contextvars.ContextVar[Budget] = contextvars.ContextVar("llmdeck_render_budget")


def current() -> Budget:
    """The budget of the render in progress; refuses once past its deadline."""
    found = budget.get(None)
    if found is None:  # a template object used outside render_template
        raise SecurityError("prompt templates render only through the prompt renderer")
    if time.monotonic() > found.deadline:
        raise SecurityError("rendering took too long (render_timeout)")
    return found


def weight(value: Any, limit: int) -> int:
    """The printed size of `value`, roughly; stops counting once over `limit`."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item) + 2
            if total <= limit:
                stack.extend(item)
        elif isinstance(item, dict):
            total += 2 * len(item) + 2
            if total <= limit:
                stack.extend(item.keys())
                stack.extend(item.values())
        else:
            total += 8
        if total > limit:
            return total
    return total


def checked(value: Any) -> Any:
    """`value`, unless it weighs over the limit."""
    limit = current().max_chars
    if weight(value, limit) > limit:
        raise SecurityError("a value is over the limit (max_render_chars)")
    return value


def looped(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every `{% for %}` iterates through this: one iteration off the budget each."""
    for item in iterable:
        found = current()
        found.iterations -= 1
        if found.iterations < 0:
            raise SecurityError(f"loops ran more than {MAX_ITERATIONS} iterations")
        yield item


def numbers_within(*args: Any, **kwargs: Any) -> None:
    """Refuse numeric arguments (widths, counts) that would build something over the limit."""
    limit = current().max_chars
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > limit:
            raise SecurityError(f"argument {value} is over the limit (max_render_chars)")


def replace_within(text: Any, old: Any, new: Any) -> None:
    """Refuse a `replace` whose result would be over the limit."""
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        growth = (text.count(old) if old else len(text) + 1) * max(0, len(new) - len(old))
        if len(text) + growth > current().max_chars:
            raise SecurityError("replace() would build a value over the limit (max_render_chars)")


def joinable(items: Any) -> list[Any]:
    """The items of a `join`, refused if joining them would build a value over the limit."""
    limit = current().max_chars
    listed, total = [], 0
    for item in looped(items):
        total += weight(item, limit)
        if total > limit:
            raise SecurityError("join() would build a value over the limit (max_render_chars)")
        listed.append(item)
    return listed


def repeat_within(left: Any, right: Any) -> None:
    """Refuse `seq * n` whose result would weigh over the limit."""
    limit = current().max_chars
    for seq, count in ((left, right), (right, left)):
        repeats = isinstance(seq, str | list | tuple) and isinstance(count, int)
        if repeats and weight(seq, limit) * count > limit:
            raise SecurityError("'*' would build a value over the limit (max_render_chars)")


def bounded_range(*args: int) -> range:
    """`range`, at most MAX_ITERATIONS long."""
    numbers = range(*args)
    if len(numbers) > MAX_ITERATIONS:
        raise SecurityError(f"range() of {len(numbers)} items is over {MAX_ITERATIONS}")
    return numbers
