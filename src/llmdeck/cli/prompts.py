"""llmdeck prompts push DIR | pull DIR | list | show NAME[@LABEL|@vN] | diff NAME A B
                | label NAME VERSION LABEL | rollback NAME LABEL | history | canary | render

Every command talks to a running llmdeck server (`--url`, `--key`): protected labels and
promotion gates are enforced there, whoever pushes, from a laptop or from CI.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from llmdeck.cli._output import print_json, print_table
from llmdeck.client import Client
from llmdeck.errors import LlmdeckError, Unauthorized
from llmdeck.prompts import (
    CanaryPlan,
    LabelState,
    ServerUnavailable,
    Target,
    pull_folder,
    push_folder,
    targets_text,
)

F = TypeVar("F", bound=Callable[..., Any])


def server_options(fn: F) -> F:
    """--url, --key and --json on every prompts command."""
    fn = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(fn)
    fn = click.option(
        "--key",
        envvar="LLMDECK_ADMIN_KEY",
        default=None,
        help="The key to send (default: $LLMDECK_ADMIN_KEY).",
    )(fn)
    return click.option(
        "--url",
        envvar="LLMDECK_URL",
        default="http://127.0.0.1:4000",
        show_default=True,
        help="The llmdeck server (or $LLMDECK_URL).",
    )(fn)


@contextmanager
def connected(url: str, key: str | None) -> Iterator[Client]:
    """A client; errors become messages and exit codes (2: cannot reach or not allowed in)."""
    try:
        with Client(url, key, timeout=30) as client:
            yield client
    except ServerUnavailable as exc:
        click.echo(f"error: {exc} (is `llmdeck serve` running? --url names the server)", err=True)
        sys.exit(2)
    except Unauthorized as exc:
        click.echo(f"error: {exc} (pass --key or set LLMDECK_ADMIN_KEY)", err=True)
        sys.exit(2)
    except LlmdeckError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def split_ref(ref: str) -> tuple[str, str | None]:
    """'name@production' -> ('name', 'production'); 'name' -> ('name', None)."""
    name, _, at = ref.partition("@")
    return name, at or None


@click.group()
def prompts() -> None:
    """Versioned prompts: push and pull files, labels, rollback, canaries."""


@prompts.command()
@click.argument(
    "folder", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("-m", "--message", default="", help="Commit message for new versions.")
@click.option("--author", default=None, help="Author of new versions (default: the key's name).")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
@server_options
def push(
    folder: Path,
    message: str,
    author: str | None,
    dry_run: bool,
    url: str,
    key: str | None,
    as_json: bool,
) -> None:
    """Sync a folder of prompt files (NAME.yaml, NAME.md) to the registry, idempotently.

    Prints per prompt: a new version, or unchanged, and the labels moved. Bad files are
    reported by name and line and skipped. Exits 1 if any file was skipped or a label refused.
    """
    with connected(url, key) as client:
        report = push_folder(client.prompts, folder, message, author, dry_run=dry_run)
    if as_json:
        print_json(report.as_json())
    else:
        for line in report.lines():
            click.echo(line)
        for problem in report.problems:
            click.echo(f"error: {problem} (skipped)", err=True)
        click.echo(report.summary(), err=True)
    sys.exit(1 if report.failed else 0)


@prompts.command()
@click.argument("folder", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@click.argument("names", nargs=-1)
@click.option("--label", default="latest", show_default=True, help="Which version to write.")
@server_options
def pull(
    folder: Path, names: tuple[str, ...], label: str, url: str, key: str | None, as_json: bool
) -> None:
    """Write prompts (all, or NAMES) from the registry into DIR as files."""
    folder.mkdir(parents=True, exist_ok=True)
    with connected(url, key) as client:
        written = pull_folder(client.prompts, folder, list(names), label)
    if as_json:
        print_json({"files": written})
        return
    for item in written:
        if "skipped" in item:
            click.echo(f"skipped {item['name']}: {item['skipped']}")
            continue
        state = "unchanged" if not item["changed"] else "wrote"
        click.echo(f"{state} {item['file']} ({item['name']} v{item['version']})")


@prompts.command(name="list")
@server_options
def list_(url: str, key: str | None, as_json: bool) -> None:
    """Every prompt with its newest version and labels."""
    with connected(url, key) as client:
        found = client.prompts.list()
    if as_json:
        print_json({"prompts": [p.model_dump(mode="json") for p in found]})
        return
    rows = [
        (p.name, f"v{p.latest_version}", _labels_text(s for s in p.labels if s.label != "latest"))
        for p in found
    ]
    print_table(["name", "latest", "labels"], rows)


def _labels_text(states: Iterable[LabelState]) -> str:
    return ", ".join(f"{s.label}={targets_text(s.targets)}" for s in states) or "-"


@prompts.command()
@click.argument("ref", metavar="NAME[@LABEL|@vN]")
@server_options
def show(ref: str, url: str, key: str | None, as_json: bool) -> None:
    """One version: its messages, model, parameters and variables (default: the newest)."""
    name, at = split_ref(ref)
    with connected(url, key) as client:
        version = client.prompts.version(name, at or "latest")
        labels = [
            s
            for p in client.prompts.list()
            if p.name == name
            for s in p.labels
            if version.version in {t.version for t in s.targets}
        ]
    if as_json:
        print_json(version.model_dump(mode="json"))
        return
    click.echo(f"{version.name} v{version.version}  labels: {_labels_text(labels)}")
    click.echo(f"author: {version.author or '-'}  hash: {version.content_hash[:12]}")
    if version.commit_message:
        click.echo(f"message: {version.commit_message}")
    for message in version.messages:
        click.echo(f"\n[{message.role}]\n{message.content}")
    click.echo("")
    if version.model:
        click.echo(f"model: {version.model}")
    if version.params:
        click.echo(f"params: {orjson.dumps(version.params).decode()}")
    for variable, spec in version.variables.items():
        click.echo(f"variable {variable}: {spec.type}{'?' if spec.optional else ''}")


@prompts.command()
@click.argument("name")
@click.argument("a")
@click.argument("b")
@server_options
def diff(name: str, a: str, b: str, url: str, key: str | None, as_json: bool) -> None:
    """Compare versions A and B (3, v3 or a label): each message's text, and the parameters."""
    with connected(url, key) as client:
        result = client.prompts.diff(name, a, b)
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        click.echo(result.text())


@prompts.command()
@click.argument("name")
@click.argument("version")
@click.argument("label")
@click.option("--reason", default=None, help="Why, for the history.")
@server_options
def label(
    name: str,
    version: str,
    label: str,
    reason: str | None,
    url: str,
    key: str | None,
    as_json: bool,
) -> None:
    """Point LABEL of NAME at VERSION (3 or v3). Protected labels need the admin key."""
    number = _version_number(version)
    with connected(url, key) as client:
        state = client.prompts.set_label(name, label, number, reason=reason)
    _print_state(state, as_json)


def _version_number(text: str) -> int:
    try:
        return int(text.lower().removeprefix("v"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a version (3 or v3)") from None


def _print_state(state: Any, as_json: bool) -> None:
    if as_json:
        print_json(state.model_dump(mode="json"))
    else:
        click.echo(f"{state.name}@{state.label} -> {targets_text(state.targets)}")


@prompts.command()
@click.argument("name")
@click.argument("label")
@server_options
def rollback(name: str, label: str, url: str, key: str | None, as_json: bool) -> None:
    """Move LABEL back to the version it pointed at before (again: further back)."""
    with connected(url, key) as client:
        state = client.prompts.rollback(name, label)
    _print_state(state, as_json)


@prompts.command()
@click.argument("name")
@click.argument("label", required=False)
@server_options
def history(name: str, label: str | None, url: str, key: str | None, as_json: bool) -> None:
    """Who moved which label of NAME, when, from what to what, and why."""
    import datetime as dt

    with connected(url, key) as client:
        events = client.prompts.history(name, label)
    if as_json:
        print_json({"events": [e.model_dump(mode="json") for e in events]})
        return
    rows = [
        (
            dt.datetime.fromtimestamp(e.at).isoformat(timespec="seconds"),
            e.label,
            e.action,
            targets_text(e.from_targets),
            targets_text(e.to_targets),
            e.actor,
            e.reason,
        )
        for e in events
    ]
    print_table(["when", "label", "action", "from", "to", "who", "why"], rows)


@prompts.command()
@click.argument("name")
@click.argument("label")
@click.argument("version")
@click.option(
    "--weight",
    type=click.FloatRange(0, 100, min_open=True),
    default=None,
    help="Send this percentage of LABEL's traffic to VERSION (a fixed split).",
)
@click.option(
    "--steps",
    default="5,25,50,100",
    show_default=True,
    help="Automatic canary: percentages to widen through.",
)
@click.option(
    "--step-seconds",
    type=float,
    default=300,
    show_default=True,
    help="Automatic canary: least time at each step.",
)
@click.option(
    "--min-requests",
    type=int,
    default=50,
    show_default=True,
    help="Automatic canary: requests the canary needs before a step is judged.",
)
@click.option(
    "--tolerance",
    type=float,
    default=5.0,
    show_default=True,
    help="Automatic canary: error-rate points over the stable version before rollback.",
)
@server_options
def canary(
    name: str,
    label: str,
    version: str,
    weight: float | None,
    steps: str,
    step_seconds: float,
    min_requests: int,
    tolerance: float,
    url: str,
    key: str | None,
    as_json: bool,
) -> None:
    """Send part of LABEL's traffic to VERSION, sticky by user.

    With --weight: a fixed A/B split. Without: an automatic canary that the server widens
    through --steps while errors hold, and rolls back on its own when they do not.
    """
    number = _version_number(version)
    with connected(url, key) as client:
        if weight is not None:
            current = client.prompts.version(name, label).version
            targets = [
                Target(version=current, weight=100 - weight),
                Target(version=number, weight=weight),
            ]
            state = client.prompts.set_label(name, label, targets=targets)
        else:
            plan = CanaryPlan(
                version=number,
                steps=[float(s) / 100 for s in steps.split(",")],
                step_seconds=step_seconds,
                min_requests=min_requests,
                max_error_rate_increase=tolerance / 100,
            )
            state = client.prompts.set_label(name, label, canary=plan)
    _print_state(state, as_json)


@prompts.command()
@click.argument("ref", metavar="NAME[@LABEL|@vN]")
@click.option(
    "-v",
    "--var",
    "pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="A variable (VALUE is JSON if it parses, else text). Repeatable.",
)
@click.option("--user", default=None, help="Resolve a split label for this user.")
@server_options
def render(
    ref: str, pairs: tuple[str, ...], user: str | None, url: str, key: str | None, as_json: bool
) -> None:
    """Render a version with variables on the server: what the gateway would send."""
    name, at = split_ref(ref)
    label, version = (None, None) if at is None else _label_or_version(at)
    variables = dict(_variable(p) for p in pairs)
    with connected(url, key) as client:
        rendered = client.prompts.render(name, variables, label=label, version=version, user=user)
    if as_json:
        print_json(rendered.model_dump(mode="json"))
        return
    click.echo(f"{rendered.name} v{rendered.version}")
    for message in rendered.messages:
        click.echo(f"\n[{message['role']}]\n{message['content']}")


def _label_or_version(at: str) -> tuple[str | None, int | None]:
    if at.lower().removeprefix("v").isdigit():
        return None, int(at.lower().removeprefix("v"))
    return at, None


def _variable(pair: str) -> tuple[str, Any]:
    name, sep, value = pair.partition("=")
    if not sep:
        raise click.BadParameter(f"{pair!r}: use NAME=VALUE", param_hint="--var")
    try:
        return name, orjson.loads(value)
    except orjson.JSONDecodeError:
        return name, value
