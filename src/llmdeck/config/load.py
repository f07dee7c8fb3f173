"""Find, read and validate llmdeck.yaml; `${VAR}` expansion; environment overrides."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from llmdeck.config import env
from llmdeck.config.schema import Settings
from llmdeck.errors import ConfigError, Problem

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
Loc = tuple[str | int, ...]


def find_config(path: str | Path | None, environ: Mapping[str, str]) -> Path | None:
    """The file to load: `path`, else $LLMDECK_CONFIG, else ./llmdeck.yaml if present."""
    if path is not None:
        return Path(path)
    if environ.get(env.LLMDECK_CONFIG.name):
        return Path(environ[env.LLMDECK_CONFIG.name])
    default = Path("llmdeck.yaml")
    return default if default.exists() else None


def load_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    discover: bool = True,
) -> Settings:
    """Build the Settings from a file (or the embedded defaults) and the environment.

    With `discover=False` and no `path`, no file is looked for: the embedded defaults.
    Raises ConfigError listing every problem with its path and line.
    """
    environ = os.environ if environ is None else environ
    file = find_config(path, environ) if discover or path is not None else None
    data: dict[str, Any] = {}
    lines: dict[Loc, int] = {}
    source = ""
    if file is not None:
        source = str(file)
        data, lines = _read_yaml(file)
        data = expand_env(data, environ, source, lines)
    overrides = {
        "database_url": environ.get(env.LLMDECK_DATABASE_URL.name),
        "redis_url": environ.get(env.LLMDECK_REDIS_URL.name),
        "admin_key": environ.get(env.LLMDECK_ADMIN_KEY.name),
        "home": environ.get(env.LLMDECK_HOME.name),
    }
    data.update({k: v for k, v in overrides.items() if v})
    data["source"] = source
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, source, lines)) from None


def _read_yaml(file: Path) -> tuple[dict[str, Any], dict[Loc, int]]:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem("", f"cannot read: {exc.strerror}", str(file))]) from None
    data, lines = parse_yaml(text, str(file))
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError([Problem("", "the top level must be a mapping", str(file), 1)])
    return data, lines


def parse_yaml(text: str, source: str) -> tuple[Any, dict[Loc, int]]:
    """The YAML document in `text` and the line of each key and item by its path (for errors
    that name a line); ConfigError names the line of a syntax error."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem("", f"invalid YAML: {problem}", source, line)]) from None
    lines: dict[Loc, int] = {}
    _index_lines(node, (), lines)
    return data, lines


def expand_env(data: Any, environ: Mapping[str, str], source: str, lines: dict[Loc, int]) -> Any:
    """`data` with `${VAR}` and `${VAR:-default}` in its strings filled from `environ`;
    ConfigError names the path and line of a variable that is not set."""
    return _expand(data, (), environ, source, lines)


def _index_lines(node: yaml.Node | None, loc: Loc, out: dict[Loc, int]) -> None:
    if node is None:
        return
    out[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*loc, key.value)] = key.start_mark.line + 1
            _index_lines(value, (*loc, key.value), out)
            out[(*loc, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*loc, index), out)


def _expand(
    value: Any, loc: Loc, environ: Mapping[str, str], source: str, lines: dict[Loc, int]
) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, (*loc, k), environ, source, lines) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, (*loc, i), environ, source, lines) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    missing: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        missing.append(name)
        return ""

    result = _VAR.sub(substitute, value)
    if missing:
        message = f"environment variable {missing[0]} is not set (use ${{{missing[0]}:-default}})"
        raise ConfigError([Problem(format_loc(loc), message, source, line_of(loc, lines))])
    return result


def format_loc(loc: Loc) -> str:
    """('models', 1, 'api_base') -> 'models[1].api_base'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def line_of(loc: Loc, lines: dict[Loc, int]) -> int | None:
    """The line of `loc`, or of its nearest parent that has one."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown key",
}


def validation_problems(exc: ValidationError, source: str, lines: dict[Loc, int]) -> list[Problem]:
    """A pydantic error as problems, each with its path and line."""
    problems = []
    for error in exc.errors():
        loc = tuple(
            p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))
        )
        message = _MESSAGES.get(error["type"], error["msg"])
        message = message.removeprefix("Value error, ")
        problems.append(Problem(format_loc(loc), message, source, line_of(loc, lines)))
    return problems
