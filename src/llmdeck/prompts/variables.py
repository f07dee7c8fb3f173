"""The variables a prompt declares, and checking the values a caller gives against them.

Declared in a prompt file as `{question: string, context: "list?", n: {type: integer,
default: 3}}`: a type name (`string`, `number`, `integer`, `boolean`, `list`, `object`, `any`), a
trailing `?` or `optional: true` for an optional one, and an optional `default`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from llmdeck.errors import BadRequest

VariableType = Literal["string", "number", "integer", "boolean", "list", "object", "any"]
TYPE_NAMES: tuple[str, ...] = ("string", "number", "integer", "boolean", "list", "object", "any")


def _empty(kind: str) -> Any:
    """What a missing optional variable renders as: empty, so `{% if x %}` reads naturally."""
    return {"string": "", "list": [], "object": {}}.get(kind)


_ARTICLE = {"integer": "an integer", "object": "an object", "any": "any value"}


class Variable(BaseModel):
    """One declared variable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: VariableType = "any"
    optional: bool = False
    default: Any = None
    description: str | None = None

    def accepts(self, value: Any) -> bool:
        """Whether `value` has this variable's type (None is accepted for optional ones)."""
        if value is None:
            return self.optional
        return _matches(self.type, value)


def _matches(kind: str, value: Any) -> bool:
    if kind == "any":
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list | tuple)
    return isinstance(value, dict)


def describe(kind: str) -> str:
    """'a string', 'an integer', ... for messages."""
    return _ARTICLE.get(kind, f"a {kind}")


def type_of(value: Any) -> str:
    """The schema type name a JSON value has."""
    for kind in ("boolean", "integer", "number", "string", "list", "object"):
        if _matches(kind, value):
            return kind
    return "null" if value is None else type(value).__name__


def parse_variable(name: str, raw: Any) -> Variable:
    """One declaration: `"string"`, `"string?"`, or `{type, optional, default, description}`.

    Raises ValueError naming the variable.
    """
    if raw is None:
        return Variable()
    if isinstance(raw, str):
        optional = raw.endswith("?")
        kind = raw.removesuffix("?").strip()
        if kind not in TYPE_NAMES:
            known = ", ".join(TYPE_NAMES)
            raise ValueError(f"variable {name!r}: unknown type {kind!r} (known: {known})")
        return Variable.model_validate({"type": kind, "optional": optional})
    if isinstance(raw, Variable):
        return raw
    if isinstance(raw, dict):
        try:
            variable = Variable.model_validate(raw)
        except ValueError as exc:
            raise ValueError(f"variable {name!r}: {_first_error(exc)}") from None
        if variable.default is not None and not _matches(variable.type, variable.default):
            raise ValueError(f"variable {name!r}: default is not {describe(variable.type)}")
        return variable
    raise ValueError(f"variable {name!r}: expected a type name or a mapping")


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(exc)


def check_values(schema: dict[str, Variable], values: dict[str, Any]) -> dict[str, Any]:
    """The values to render with: checked against `schema`, defaults filled in.

    Raises BadRequest naming the first missing or wrongly typed variable. Values for variables the
    schema does not declare are passed through (a caller may send more than a version uses).
    """
    out = dict(values)
    for name, variable in schema.items():
        if name not in values or values[name] is None:
            if not variable.optional and variable.default is None:
                raise BadRequest(
                    f"prompt variable {name!r} is required ({describe(variable.type)})",
                    param=f"prompt.variables.{name}",
                    code="missing_variable",
                )
            out[name] = variable.default if variable.default is not None else _empty(variable.type)
            continue
        if not variable.accepts(values[name]):
            raise BadRequest(
                f"prompt variable {name!r} must be {describe(variable.type)}, "
                f"got {describe(type_of(values[name]))}",
                param=f"prompt.variables.{name}",
                code="invalid_variable",
            )
    return out
