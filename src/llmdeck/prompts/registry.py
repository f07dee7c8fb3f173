"""The registry's storage: versions, labels and label history in the Store (SQLite or
PostgreSQL). No policy here (protection, gates, caching): see `service.Prompts`.

Creating a version first upserts the prompt's row, which takes its row lock on PostgreSQL and the
write lock on SQLite, so concurrent pushes of one prompt queue up and come out as consecutive
versions; the (name, version) primary key and a retry cover anything that slips past.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select
from sqlalchemy.exc import IntegrityError, OperationalError

from llmdeck.errors import NotFound
from llmdeck.prompts.model import (
    LATEST,
    CanaryState,
    LabelEvent,
    LabelState,
    Prompt,
    PromptSpec,
    PromptVersion,
    Target,
)
from llmdeck.store import Store
from llmdeck.store.tables import prompt_label_events, prompt_labels, prompt_versions, prompts

RETRIES = 8
_VERSION_FIELDS = ("messages", "model", "params", "variables", "commit_message", "author")


class Registry:
    """Versions, labels and their history, over a Store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def create_version(self, spec: PromptSpec, author: str) -> tuple[PromptVersion, bool]:
        """Store `spec` as the next version, unless it equals the newest one (then that one is
        returned, and False). `latest` moves to a new version."""
        digest = spec.compute_hash()
        for attempt in range(RETRIES):
            try:
                return await self.store.awrite(lambda c: self._create(c, spec, digest, author))
            except (IntegrityError, OperationalError):
                if attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _create(
        self, conn: Connection, spec: PromptSpec, digest: str, author: str
    ) -> tuple[PromptVersion, bool]:
        now = time.time()
        row = {"name": spec.name, "latest_version": 0, "created_at": now, "updated_at": now}
        conn.execute(self.store.upsert(prompts, ["name"], ["updated_at"]), [row])
        latest = conn.execute(
            select(prompts.c.latest_version).where(prompts.c.name == spec.name)
        ).scalar_one()
        if latest:
            current = _version_row(conn, spec.name, latest)
            if current is not None and current.content_hash == digest:
                return _version(current), False
        data = spec.model_dump(mode="json", include=set(_VERSION_FIELDS))
        data.update(
            name=spec.name,
            version=latest + 1,
            author=spec.author or author,
            content_hash=digest,
            created_at=now,
        )
        conn.execute(prompt_versions.insert().values(**data))
        conn.execute(
            prompts.update()
            .where(prompts.c.name == spec.name)
            .values(latest_version=latest + 1, updated_at=now)
        )
        state = _label_row(conn, spec.name, LATEST)
        self._move(
            conn,
            spec.name,
            LATEST,
            [Target(version=latest + 1)],
            state,
            "move",
            spec.author or author,
            f"new version v{latest + 1}",
            None,
        )
        return _version(_version_row(conn, spec.name, latest + 1)), True

    async def version(self, name: str, version: int) -> PromptVersion:
        """One version; NotFound names what is missing."""
        row = await self.store.aread(lambda c: _version_row(c, name, version))
        if row is None:
            await self.prompt(name)
            raise NotFound(f"prompt {name!r} has no version {version}", code="version_not_found")
        return _version(row)

    async def versions(self, name: str) -> list[PromptVersion]:
        """Every version of a prompt, newest first."""
        await self.prompt(name)
        rows = await self.store.aread(
            lambda c: list(
                c.execute(
                    select(prompt_versions)
                    .where(prompt_versions.c.name == name)
                    .order_by(prompt_versions.c.version.desc())
                )
            )
        )
        return [_version(r) for r in rows]

    async def prompts(self) -> list[Prompt]:
        """Every prompt with its labels, by name."""

        def read(conn: Connection) -> tuple[list[Row[Any]], list[Row[Any]]]:
            return (
                list(conn.execute(select(prompts).order_by(prompts.c.name))),
                list(conn.execute(select(prompt_labels).order_by(prompt_labels.c.label))),
            )

        rows, labels = await self.store.aread(read)
        by_name: dict[str, list[LabelState]] = {}
        for label in labels:
            by_name.setdefault(label.name, []).append(_label(label))
        return [_prompt(r, by_name.get(r.name, [])) for r in rows]

    async def prompt(self, name: str) -> Prompt:
        """One prompt with its labels; NotFound if it does not exist."""

        def read(conn: Connection) -> tuple[Row[Any] | None, list[Row[Any]]]:
            row = conn.execute(select(prompts).where(prompts.c.name == name)).first()
            labels = conn.execute(
                select(prompt_labels)
                .where(prompt_labels.c.name == name)
                .order_by(prompt_labels.c.label)
            )
            return row, list(labels)

        row, labels = await self.store.aread(read)
        if row is None:
            raise NotFound(f"no prompt named {name!r}", code="prompt_not_found")
        return _prompt(row, [_label(r) for r in labels])

    async def label(self, name: str, label: str) -> LabelState | None:
        """Where a label points, or None."""
        row = await self.store.aread(lambda c: _label_row(c, name, label))
        return _label(row) if row is not None else None

    async def move(
        self,
        name: str,
        label: str,
        targets: list[Target],
        *,
        action: str,
        actor: str,
        reason: str | None = None,
        canary: CanaryState | None = None,
        expected_revision: int | None = None,
    ) -> LabelState | None:
        """Point `label` at `targets` (every target version must exist) and record the move.
        With `expected_revision`, nothing happens (None) if the label moved in the meantime."""

        def write(conn: Connection) -> LabelState | None:
            # a write first: the prompt's row lock (PostgreSQL) or the write lock (SQLite), so
            # concurrent moves of one prompt's labels queue up and each reads the one before
            touched = conn.execute(
                prompts.update().where(prompts.c.name == name).values(updated_at=time.time())
            )
            if touched.rowcount == 0:
                raise NotFound(f"no prompt named {name!r}", code="prompt_not_found")
            for target in targets:
                if _version_row(conn, name, target.version) is None:
                    raise NotFound(
                        f"prompt {name!r} has no version {target.version}",
                        code="version_not_found",
                    )
            state = _label_row(conn, name, label)
            have = state.revision if state is not None else -1
            if expected_revision is not None and have != expected_revision:
                return None
            self._move(conn, name, label, targets, state, action, actor, reason, canary)
            return _label(_label_row(conn, name, label))

        return await self.store.awrite(write)

    def _move(
        self,
        conn: Connection,
        name: str,
        label: str,
        targets: list[Target],
        state: Row[Any] | None,
        action: str,
        actor: str,
        reason: str | None,
        canary: CanaryState | None,
    ) -> None:
        now = time.time()
        values = {
            "version": targets[0].version,
            "targets": [t.model_dump() for t in targets],
            "canary": canary.model_dump() if canary is not None else None,
            "updated_at": now,
            "updated_by": actor,
        }
        if state is None:
            conn.execute(
                prompt_labels.insert().values(name=name, label=label, revision=1, **values)
            )
        else:
            conn.execute(
                prompt_labels.update()
                .where(prompt_labels.c.name == name, prompt_labels.c.label == label)
                .values(revision=state.revision + 1, **values)
            )
        conn.execute(
            prompt_label_events.insert().values(
                name=name,
                label=label,
                action=action,
                from_targets=state.targets if state is not None else None,
                to_targets=values["targets"],
                actor=actor,
                reason=reason,
                at=now,
            )
        )

    async def history(self, name: str, label: str | None = None) -> list[LabelEvent]:
        """Label moves of a prompt (or of one label), oldest first."""
        query = select(prompt_label_events).where(prompt_label_events.c.name == name)
        if label is not None:
            query = query.where(prompt_label_events.c.label == label)
        rows = await self.store.aread(
            lambda c: list(c.execute(query.order_by(prompt_label_events.c.id)))
        )
        return [LabelEvent.model_validate(r._asdict()) for r in rows]

    async def canaries(self) -> list[LabelState]:
        """Labels with an automatic canary in progress."""
        rows = await self.store.aread(
            lambda c: list(
                c.execute(select(prompt_labels).where(prompt_labels.c.canary.is_not(None)))
            )
        )
        return [s for s in map(_label, rows) if s.canary is not None]


def _version_row(conn: Connection, name: str, version: int) -> Row[Any] | None:
    return conn.execute(
        select(prompt_versions).where(
            prompt_versions.c.name == name, prompt_versions.c.version == version
        )
    ).first()


def _label_row(conn: Connection, name: str, label: str) -> Row[Any] | None:
    return conn.execute(
        select(prompt_labels).where(prompt_labels.c.name == name, prompt_labels.c.label == label)
    ).first()


def _version(row: Row[Any] | None) -> PromptVersion:
    assert row is not None
    return PromptVersion.model_validate(row._asdict())


def _label(row: Row[Any] | None) -> LabelState:
    assert row is not None
    data = row._asdict()
    if data["canary"] is None:
        data.pop("canary")
    return LabelState.model_validate(data)


def _prompt(row: Row[Any], labels: Sequence[LabelState]) -> Prompt:
    return Prompt(
        name=row.name,
        latest_version=row.latest_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        labels=list(labels),
    )
