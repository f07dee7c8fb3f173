"""`push` and `pull` of a folder of prompt files against a registry server (through the SDK)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from llmdeck.errors import NotFound
from llmdeck.prompts.client import PromptsClient
from llmdeck.prompts.files import SUFFIXES, FileProblem, dump_version, read_folder
from llmdeck.prompts.model import LATEST, LabelState, PromptSpec, targets_text


@dataclass
class Pushed:
    """What a push did (or, dry, would do) for one file."""

    file: str
    name: str
    version: int
    created: bool
    labels: list[dict[str, Any]] = field(default_factory=list)

    def line(self) -> str:
        """'support: v3 (new)  staging: v2 -> v3'."""
        state = f"v{self.version} (new)" if self.created else f"unchanged (v{self.version})"
        moves = []
        for change in self.labels:
            if change.get("refused"):
                moves.append(f"{change['label']}: refused: {change['refused']}")
            elif change["moved"]:
                moves.append(f"{change['label']}: {change['before']} -> {change['after']}")
        return "  ".join([f"{self.name}: {state}", *moves])


@dataclass
class PushReport:
    """Every file's outcome, and the files skipped."""

    pushed: list[Pushed]
    problems: list[FileProblem]
    dry_run: bool = False

    @property
    def failed(self) -> bool:
        """A file was skipped or a label refused."""
        return bool(self.problems) or any(c.get("refused") for p in self.pushed for c in p.labels)

    def lines(self) -> list[str]:
        """One line per prompt."""
        prefix = "(dry run) " if self.dry_run else ""
        return [prefix + p.line() for p in self.pushed]

    def summary(self) -> str:
        """'3 prompts: 1 new version, 2 unchanged, 1 label moved; 1 file skipped'."""
        new = sum(p.created for p in self.pushed)
        moved = sum(bool(c["moved"]) for p in self.pushed for c in p.labels)
        text = (
            f"{len(self.pushed)} prompts: {new} new version{'s' * (new != 1)}, "
            f"{len(self.pushed) - new} unchanged, {moved} label{'s' * (moved != 1)} moved"
        )
        if self.problems:
            text += f"; {len(self.problems)} file{'s' * (len(self.problems) != 1)} skipped"
        return text

    def as_json(self) -> dict[str, Any]:
        """What `push --json` prints."""
        return {
            "dry_run": self.dry_run,
            "prompts": [asdict(p) for p in self.pushed],
            "errors": [asdict(p) for p in self.problems],
        }


def push_folder(
    client: PromptsClient,
    folder: Path,
    message: str = "",
    author: str | None = None,
    *,
    dry_run: bool = False,
) -> PushReport:
    """Push every prompt file in `folder`; bad files are reported and skipped."""
    specs, problems = read_folder(folder)
    if not specs and not problems:
        kinds = ", ".join(f"NAME{s}" for s in SUFFIXES)
        problems.append(FileProblem(str(folder), f"no prompt files ({kinds})"))
    labels = _labels(client) if dry_run and specs else {}
    pushed = []
    for path, spec in specs:
        update = {"commit_message": message or f"pushed from {path.name}", "author": author}
        spec = spec.model_copy(update=update)
        if dry_run:
            pushed.append(_plan(client, path, spec, labels.get(spec.name, {})))
            continue
        body = client.push(spec)
        pushed.append(
            Pushed(
                str(path), spec.name, body["version"]["version"], body["created"], body["labels"]
            )
        )
    return PushReport(pushed, problems, dry_run)


def _labels(client: PromptsClient) -> dict[str, dict[str, LabelState]]:
    return {p.name: {s.label: s for s in p.labels} for p in client.list()}


def _plan(
    client: PromptsClient, path: Path, spec: PromptSpec, labels: dict[str, LabelState]
) -> Pushed:
    try:
        latest = client.version(spec.name, LATEST)
    except NotFound:
        latest = None
    if latest is None:
        created, number = True, 1
    else:
        created = latest.content_hash != spec.compute_hash()
        number = latest.version + 1 if created else latest.version
    changes = []
    for label in spec.labels:
        state = labels.get(label)
        before = targets_text(state.targets if state else None)
        after = f"v{number}"
        changes.append({"label": label, "before": before, "after": after, "moved": before != after})
    return Pushed(str(path), spec.name, number, created, changes)


def pull_folder(
    client: PromptsClient, folder: Path, names: list[str], label: str = LATEST
) -> list[dict[str, Any]]:
    """Write the `label` version of each prompt (all, or `names`) into `folder`; returns
    {file, name, version, changed} per prompt, or {name, skipped} for one without the label
    (when pulling all). A file already there as `.md` stays Markdown."""
    found = {p.name: p for p in client.list()}
    for name in names:
        if name not in found:
            raise NotFound(f"no prompt named {name!r}", code="prompt_not_found")
    written: list[dict[str, Any]] = []
    for name in names or sorted(found):
        try:
            version = client.version(name, label)
        except NotFound:
            if names:  # asked for by name: say so
                raise
            written.append({"name": name, "skipped": f"no label {label!r}"})
            continue
        pointing = [
            s.label
            for s in found[name].labels
            if [t.version for t in s.targets] == [version.version]
        ]
        path = _path_for(folder, name)
        text = dump_version(version, pointing, markdown=path.suffix == ".md")
        changed = not path.exists() or path.read_text(encoding="utf-8") != text
        if changed:
            path.write_text(text, encoding="utf-8")
        written.append(
            {"file": str(path), "name": name, "version": version.version, "changed": changed}
        )
    return written


def _path_for(folder: Path, name: str) -> Path:
    for suffix in SUFFIXES:
        if (folder / f"{name}{suffix}").exists():
            return folder / f"{name}{suffix}"
    return folder / f"{name}.yaml"
