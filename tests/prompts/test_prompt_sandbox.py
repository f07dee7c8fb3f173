"""Templates render in a sandbox: no Python internals, no files, no runaway loops or sizes;
variables are checked against the declared schema, naming the one that is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from llmdeck.errors import BadRequest
from llmdeck.prompts import PromptSpec, PromptVersion


def version(content: str, variables: dict[str, Any] | None = None) -> PromptVersion:
    data = {"name": "t", "version": 1, "messages": [{"role": "user", "content": content}]}
    return PromptVersion.model_validate({**data, "variables": variables or {}})


def render(content: str, variables: dict[str, Any] | None = None, **values: Any) -> str:
    rendered = version(content, variables).render(values, max_chars=100_000, timeout=1.0)
    return str(rendered.messages[0]["content"])


ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ lipsum.__globals__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ range.__globals__ }}",
    "{{ dict.__base__.__subclasses__() }}",
    "{{ (1).__class__.__base__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{% set x = [1] %}{{ x.append(2) }}",
    "{{ product.__class__ }}",
]


@pytest.mark.parametrize("template", ESCAPES)
def test_reaching_python_internals_is_refused(template: str) -> None:
    with pytest.raises(BadRequest) as caught:
        # names the template reads are variables: give them, so the sandbox is what refuses
        render(template, product="x", cycler="x", joiner="x", lipsum="x")
    assert caught.value.code == "prompt_render_failed"
    assert caught.value.message.startswith(("template refused", "template uses an undefined"))


ABUSE = [
    ("{% for i in range(10**9) %}x{% endfor %}", "range()"),
    ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}", "loops"),
    ("{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}", "loops"),
    ("{{ 'a' * 10**9 }}", "'*'"),
    ("{{ 2 ** (10**9) }}", "exponent"),
    ("{{ 'x'|center(10**9) }}", "argument"),
    ("{{ 'x'.ljust(10**9) }}", "argument"),
    ("{{ '{:>1000000000}'.format(1) }}", "format"),
    ("{{ '%1000000000s' % 1 }}", "'%'"),
    ("{{ s|replace('x', s) }}", "replace()"),
    ("{{ s.replace('x', s) }}", "replace()"),
    ("{{ [s, s, s, s, s, s]|join }}", "over the limit"),
    ("{{ s.join([s, s, s, s, s, s]) }}", "join()"),
    ("{% set t = s ~ s %}{% set t = t ~ t %}{% set t = t ~ t %}{{ t }}", "over the limit"),
    ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "recursion"),
    ("{% for i in range(90000) %}{{ s }}{% endfor %}", "output"),
    ("{{ ([s] * 100)|tojson }}", "'*'"),
    ("{% set l = [s] * 4 %}{{ ((l + l + l) + (l + l + l)) }}", "over the limit"),
    ("{% set l = [[s] * 4] * 4 %}{{ l|tojson }}", "'*'"),
    ("{{ ([{'a': s}] * 9)|join(attribute='a') }}", "over the limit"),
    ("{% set l = [s, s, s, s] %}{% set m = [l, l, l, l] %}{{ m }}", "over the limit"),
    ("{% set l = [s, s, s, s] %}{% set m = [l, l, l, l] %}{{ 'x' ~ m }}", "over the limit"),
    ("{% set l = [s, s, s, s] %}{% set m = [l, l, l, l] %}{{ m|string }}", "over the limit"),
    ("{% set l = [s, s, s, s] %}{% set m = [l, l, l, l] %}{{ m|sum(start=[]) }}", "limit"),
]


@pytest.mark.parametrize(("template", "reason"), ABUSE)
def test_resource_abuse_is_refused(template: str, reason: str) -> None:
    with pytest.raises(BadRequest) as caught:
        render(template, s="x" * 20_000)
    assert reason in caught.value.message


@pytest.mark.parametrize(
    "template",
    [
        "{% include '/etc/passwd' %}",
        "{% import 'x' as y %}",
        "{% from 'x' import y %}",
        "{% extends 'base.txt' %}",
    ],
)
def test_file_access_is_refused_when_the_prompt_is_stored(template: str) -> None:
    with pytest.raises(ValueError, match="is not allowed in prompts"):
        PromptSpec.model_validate(
            {"name": "t", "messages": [{"role": "user", "content": template}]}
        )


def test_ordinary_templates_render() -> None:
    template = (
        "{{ name|upper }}: {% for d in docs %}[{{ loop.index }}] {{ d.title }}; {% endfor %}"
        "{% if extra %}{{ extra }}{% else %}none{% endif %} {{ n * 2 }} {{ data|tojson }}"
    )
    docs = [{"title": "a"}, {"title": "b"}]
    out = render(template, name="q", docs=docs, extra="", n=21, data={"k": [1]})
    assert out == 'Q: [1] a; [2] b; none 42 {"k": [1]}'
    assert render("{{ a ~ (b ~ c) ~ 1 }}", a="x", b="y", c="z") == "xyz1"


SCHEMA = {
    "question": "string",
    "count": "integer",
    "ratio": "number",
    "flag": "boolean",
    "items": "list",
    "meta": "object",
    "note": "string?",
    "top": {"type": "integer", "default": 3},
}
GOOD: dict[str, Any] = {
    "question": "q",
    "count": 2,
    "ratio": 0.5,
    "flag": True,
    "items": [1],
    "meta": {},
}


def test_variables_are_checked_against_the_schema() -> None:
    template = " ".join(f"{{{{ {name} }}}}" for name in SCHEMA)
    assert render(template, SCHEMA, **GOOD) == "q 2 0.5 True [1] {}  3"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("question", None, "prompt variable 'question' is required (a string)"),
        ("count", "2", "prompt variable 'count' must be an integer, got a string"),
        ("count", True, "prompt variable 'count' must be an integer, got a boolean"),
        ("ratio", "x", "prompt variable 'ratio' must be a number, got a string"),
        ("flag", 1, "prompt variable 'flag' must be a boolean, got an integer"),
        ("items", "a", "prompt variable 'items' must be a list, got a string"),
        ("meta", [1], "prompt variable 'meta' must be an object, got a list"),
    ],
)
def test_a_missing_or_mistyped_variable_is_named(name: str, value: Any, message: str) -> None:
    values = {**GOOD, name: value}
    if value is None:
        values.pop(name)
    template = " ".join(f"{{{{ {name} }}}}" for name in SCHEMA)
    with pytest.raises(BadRequest) as caught:
        render(template, SCHEMA, **values)
    assert caught.value.message == message
    assert caught.value.param == f"prompt.variables.{name}"


def test_a_template_variable_must_be_declared() -> None:
    with pytest.raises(ValueError, match="the messages use other, which are not declared"):
        PromptSpec.model_validate(
            {
                "name": "t",
                "messages": [{"role": "user", "content": "{{ q }} {{ other }}"}],
                "variables": {"q": "string"},
            }
        )


def test_undeclared_variables_are_inferred_and_required() -> None:
    prompt = version("{{ a }} and {{ b }}")
    assert set(prompt.variables) == {"a", "b"}
    with pytest.raises(BadRequest, match="'b' is required"):
        prompt.render({"a": 1})
