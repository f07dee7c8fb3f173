"""The `llmdeck` command.

    llmdeck quickstart          the embedded demo: server and UI on http://127.0.0.1:4000
    llmdeck serve               serve the gateway, API and UI for a llmdeck.yaml
    llmdeck worker              run background jobs (batches) from the shared PostgreSQL queue
    llmdeck config check        validate a llmdeck.yaml
    llmdeck traces tail|export  follow live traffic, or write traces as JSONL
    llmdeck prompts ...         versioned prompts: push/pull files, labels, rollback, canaries
    llmdeck vectors ...         vector collections: list, stats, tune, optimize, migrate
    llmdeck rag ingest|query    RAG: ingest documents, answer questions with citations
    llmdeck deployments list    circuits, load and latency of each deployment on a running server
    llmdeck keys create         create a virtual key (list, show, update, revoke, spend, audit)
    llmdeck eval ...            evaluation: run suites (gates, JUnit), compare runs, datasets

Exit codes: 0 ok, 1 a failed check or regression, 2 a usage or configuration error.
"""

from __future__ import annotations

import sys

import click

from llmdeck import __version__
from llmdeck.cli import config as config_commands
from llmdeck.cli import deployments as deployments_commands
from llmdeck.cli import eval as eval_commands
from llmdeck.cli import eval_datasets as _eval_datasets  # noqa: F401 - registers commands
from llmdeck.cli import keys as key_commands
from llmdeck.cli import prompts as prompt_commands
from llmdeck.cli import quickstart as quickstart_command
from llmdeck.cli import rag as rag_commands
from llmdeck.cli import serve as serve_command
from llmdeck.cli import traces as traces_commands
from llmdeck.cli import vectors_data as _vectors_data  # noqa: F401 - registers commands
from llmdeck.cli import vectors_migrate as _vectors_migrate  # noqa: F401 - registers commands
from llmdeck.cli import worker as worker_command
from llmdeck.cli.vectors import vectors as vectors_commands
from llmdeck.errors import ConfigError, LlmdeckError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="llmdeck")
def cli() -> None:
    """llmdeck: model gateway, prompt registry, RAG, traces and evals in one package."""


cli.add_command(serve_command.serve)
cli.add_command(worker_command.worker)
cli.add_command(quickstart_command.quickstart)
cli.add_command(config_commands.config)
cli.add_command(traces_commands.traces)
cli.add_command(prompt_commands.prompts)
cli.add_command(vectors_commands)
cli.add_command(rag_commands.rag)
cli.add_command(deployments_commands.deployments)
cli.add_command(key_commands.keys)
cli.add_command(eval_commands.eval_group)


def main() -> None:
    """Entry point: run the CLI, turning llmdeck errors into messages and exit codes."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(2)
    except LlmdeckError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
