"""Rendering prompt templates in a sandbox.

Templates are Jinja2, run by an `ImmutableSandboxedEnvironment` with `StrictUndefined`: no access
to Python internals (`__class__`, `__globals__`, `_private` attributes), no mutation of the
variables, no `include`/`import`/`extends` (there is no file system to reach), and only a safe
list of filters and globals. Resource abuse is bounded too (`limits.py`): every loop iteration
and every call counts against a deadline (`render_timeout`), loops share an iteration budget,
and operations that can grow a value (`*`, `**`, `~`, `+`, `replace`, `join`, padding, filters,
printing) are measured against `max_chars` before they run where they could grow at once, as is
the whole output. To do that, loops and `~` are rewritten at compile time to pass through the
budget (`llmdeck_loop`, `llmdeck_sized`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from llmdeck.errors import BadRequest
from llmdeck.prompts import limits

_LOOP = "llmdeck_loop"
_SIZED = "llmdeck_sized"
_REFUSED_NODES = {
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Extends: "{% extends %}",
}
SAFE_FILTERS = frozenset(
    {
        *("abs", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e"),
        *("escape", "first", "float", "groupby", "indent", "int", "items", "join", "last"),
        *("length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace"),
        *("reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string"),
        *("striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper"),
        *("urlencode", "wordcount", "wordwrap"),
    }
)
_SIZED_FILTERS = {"batch", "center", "indent", "slice", "tojson", "wordwrap"}
_INTERNAL = (Context, EvalContext, Environment)
_GROWING_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}
_REFUSED_METHODS = {"format", "format_map"}


class TemplateProblem(ValueError):
    """A template that cannot be used: bad syntax or a refused construct, with its line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


class RenderError(BadRequest):
    """Rendering failed: an undefined name, a refused operation, or a limit reached."""

    def __init__(self, message: str) -> None:
        super().__init__(message, param="prompt", code="prompt_render_failed")


def _guarded_filter(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        # Jinja may pass its context first (pass_context / pass_eval_context / pass_environment)
        skip = next((i for i, a in enumerate(args) if not isinstance(a, _INTERNAL)), len(args))
        value, rest = (args[skip], args[skip + 1 :]) if skip < len(args) else (None, ())
        limits.checked(value)  # filters print or copy their value: it must be within the limit
        if name in _SIZED_FILTERS:
            limits.numbers_within(*rest, **kwargs)
        if name == "replace" and len(rest) >= 2:
            limits.replace_within(value, rest[0], rest[1])
        if name == "join" and skip < len(args):
            args = (*args[:skip], limits.joinable(value), *rest)
        return limits.checked(fn(*args, **kwargs))

    run.__dict__.update(getattr(fn, "__dict__", {}))  # keeps Jinja's pass_* marker
    run.__name__ = name
    return run


class PromptEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox: safe filters and globals only, every call and loop on the budget."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            finalize=limits.checked,  # every {{ value }} is measured before it is printed
        )
        self.filters = {n: _guarded_filter(n, self.filters[n]) for n in SAFE_FILTERS}
        self.globals = {
            "range": limits.bounded_range,
            "dict": dict,
            "namespace": self.globals["namespace"],
            _LOOP: limits.looped,
            _SIZED: limits.checked,
        }

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """`*`, `**`, `%` and `+`, refused when they would build something too large."""
        limits.current()
        if operator == "%" and isinstance(left, str):
            raise SecurityError("'%' string formatting is not allowed in prompts; use {{ }}")
        if operator == "**":
            if isinstance(right, int) and abs(right) > 1000 and abs(left) > 1:
                raise SecurityError(f"exponent {right} is over the limit of 1000")
            return left**right
        if operator == "*":
            limits.repeat_within(left, right)
            return left * right
        if operator == "%":
            return left % right
        return limits.checked(left + right)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Every call from a template: on the budget, with growing string methods checked."""
        limits.current()
        name = getattr(obj, "__name__", "")
        # the sandbox hands out str.format wrapped: its string is on the wrapped method
        owner = getattr(obj, "__self__", None) or getattr(
            getattr(obj, "__wrapped__", None), "__self__", None
        )
        if isinstance(owner, str):
            if name in _REFUSED_METHODS:
                raise SecurityError(f"str.{name}() is not allowed in prompts; use {{{{ }}}}")
            if name in _GROWING_METHODS:
                limits.numbers_within(*args, **kwargs)
            if name == "replace" and len(args) >= 2:
                limits.replace_within(owner, args[0], args[1])
            if name == "join" and args:
                args = (limits.joinable(args[0]), *args[1:])
        return limits.checked(super().call(context, obj, *args, **kwargs))


ENVIRONMENT = PromptEnvironment()


@functools.lru_cache(maxsize=4096)
def compile_template(source: str) -> Any:
    """Compile one message template, refusing file access; raises TemplateProblem.
    Compiled templates are kept (by source text), so a version compiles once per process."""
    try:
        tree = ENVIRONMENT.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(exc.message or "syntax error", exc.lineno) from None
    for node_type, what in _REFUSED_NODES.items():
        for node in tree.find_all(node_type):
            raise TemplateProblem(f"{what} is not allowed in prompts", node.lineno)
    for loop in list(tree.find_all(nodes.For)):
        loop.iter = _wrapped(_LOOP, loop.iter)
    _wrap_concats(tree)
    try:
        return ENVIRONMENT.from_string(tree)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(exc.message or "syntax error", exc.lineno) from None


def _wrap_concats(node: nodes.Node) -> None:
    """Measure the parts of every `a ~ b` before it is built, and the result after."""
    for concat in list(node.find_all(nodes.Concat)):
        concat.nodes = [_wrapped(_SIZED, part) for part in concat.nodes]
    _wrap_concat_results(node)


def _wrap_concat_results(node: nodes.Node) -> None:
    for field in node.fields:
        value = getattr(node, field, None)
        if isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, nodes.Node):
                    _wrap_concat_results(item)  # children first: the wrapper is not revisited
                    if isinstance(item, nodes.Concat):
                        value[index] = _wrapped(_SIZED, item)
        elif isinstance(value, nodes.Node):
            _wrap_concat_results(value)
            if isinstance(value, nodes.Concat):
                setattr(node, field, _wrapped(_SIZED, value))


def _wrapped(function: str, expression: nodes.Node) -> nodes.Call:
    call = nodes.Call(nodes.Name(function, "load"), [expression], [], None, None)
    call.set_lineno(expression.lineno or 1, override=False)
    return call


def variables_of(source: str) -> set[str]:
    """The undeclared names a template reads (its variables)."""
    from jinja2 import meta

    try:
        found: set[str] = meta.find_undeclared_variables(ENVIRONMENT.parse(source))
    except TemplateSyntaxError as exc:
        raise TemplateProblem(exc.message or "syntax error", exc.lineno) from None
    return found - set(ENVIRONMENT.globals) - {"loop", "self", "varargs", "kwargs", "caller"}


def render_template(
    template: Any, values: dict[str, Any], *, max_chars: int, timeout: float
) -> str:
    """Render a compiled template within the limits; raises RenderError naming the problem."""
    token = limits.budget.set(
        limits.Budget(time.monotonic() + timeout, limits.MAX_ITERATIONS, max_chars)
    )
    try:
        out: list[str] = []
        size = 0
        for piece in template.generate(values):
            size += len(piece)
            if size > max_chars:
                raise SecurityError(f"the output is over {max_chars} characters")
            out.append(piece)
        return "".join(out)
    except UndefinedError as exc:
        raise RenderError(f"template uses an undefined name: {exc.message}") from None
    except SecurityError as exc:
        raise RenderError(f"template refused: {exc}") from None
    except (TemplateError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise RenderError(f"template failed: {type(exc).__name__}: {exc}") from None
    except RecursionError:
        raise RenderError("template refused: recursion too deep") from None
    finally:
        limits.budget.reset(token)
