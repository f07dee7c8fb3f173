"""llmdeck config check [FILE]"""

from __future__ import annotations

import os
import sys

import click

from llmdeck.cli._output import print_json
from llmdeck.config import load_settings
from llmdeck.errors import ConfigError
from llmdeck.gateway import config_problems


@click.group()
def config() -> None:
    """Inspect and validate configuration."""


@config.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def check(file: str | None, as_json: bool) -> None:
    """Validate FILE (default: $LLMDECK_CONFIG or ./llmdeck.yaml) and name every error with its
    path. Exits 1 when the file has errors."""
    try:
        settings = load_settings(file, os.environ)
        problems = config_problems(settings)
        if problems:
            raise ConfigError(problems)
    except ConfigError as exc:
        if as_json:
            print_json({"ok": False, "errors": [str(p) for p in exc.problems]})
        else:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
        sys.exit(1)
    deployments = sum(len(m.deployments) for m in settings.models)
    source = settings.source or "embedded defaults (no llmdeck.yaml)"
    if as_json:
        print_json({"ok": True, "source": source, "models": [m.name for m in settings.models]})
        return
    click.echo(f"ok: {source}: {len(settings.models)} model aliases, {deployments} deployments")
