"""Managing keys: create, list, show, change, revoke, and read the audit log. Used by the
/api/keys routes and by `llmdeck keys`; after each change, `notify(key_id)` tells the replicas."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from sqlalchemy.exc import IntegrityError

from llmdeck.errors import BadRequest
from llmdeck.gateway.keys import repo
from llmdeck.gateway.keys.audit import AuditEntry, read_audit
from llmdeck.gateway.keys.model import KeyChanges, KeyRecord, KeySpec
from llmdeck.store import Store

Notify = Callable[[str], Awaitable[None]]


class KeyAdmin:
    """Key management over the store. `models` are the configured aliases a key may name."""

    def __init__(
        self, store: Store, *, notify: Notify | None = None, models: Collection[str] = ()
    ) -> None:
        self.store = store
        self.notify = notify
        self.models = frozenset(models)

    async def create(self, spec: KeySpec, actor: str) -> tuple[KeyRecord, str]:
        """A new key and its secret (shown once: only its hash is kept)."""
        self._check_models(spec.models)
        try:
            record, secret = await self.store.awrite(lambda c: repo.create_key(c, spec, actor))
        except IntegrityError:
            raise repo.name_taken(spec.name) from None
        await self._notify(record.id)
        return record, secret

    async def list_keys(
        self, *, include_revoked: bool = False, team: str | None = None
    ) -> list[KeyRecord]:
        """Live keys (or all), newest first."""
        return await self.store.aread(
            lambda c: repo.list_keys(c, include_revoked=include_revoked, team=team)
        )

    async def get(self, ref: str) -> KeyRecord:
        """A key by id or name."""
        return await self.store.aread(lambda c: repo.find_key(c, ref))

    async def update(self, ref: str, changes: KeyChanges, actor: str) -> KeyRecord:
        """Change the given fields of a live key."""
        try:
            values = changes.changes()
        except ValueError as exc:
            raise BadRequest(str(exc), param="name") from None
        self._check_models(values.get("models"))
        try:
            record = await self.store.awrite(lambda c: repo.update_key(c, ref, values, actor))
        except IntegrityError:
            raise repo.name_taken(str(values.get("name"))) from None
        await self._notify(record.id)
        return record

    async def rotate(self, ref: str, actor: str) -> tuple[KeyRecord, str]:
        """A new secret for a live key (shown once); the old one is refused from now on."""
        record, secret = await self.store.awrite(lambda c: repo.rotate_key(c, ref, actor))
        await self._notify(record.id)
        return record, secret

    async def revoke(self, ref: str, actor: str) -> KeyRecord:
        """Revoke a key; every replica refuses it within a second."""
        record = await self.store.awrite(lambda c: repo.revoke_key(c, ref, actor))
        await self._notify(record.id)
        return record

    async def audit(
        self, *, target: str | None = None, action: str | None = None, limit: int = 100
    ) -> list[AuditEntry]:
        """Admin actions, latest first."""
        return await self.store.aread(
            lambda c: read_audit(c, target=target, action=action, limit=limit)
        )

    def _check_models(self, models: list[str] | None) -> None:
        if not models or not self.models:
            return
        for index, alias in enumerate(models):
            if alias not in self.models:
                known = ", ".join(sorted(self.models))
                raise BadRequest(
                    f"models[{index}]: unknown model alias {alias!r}; known: {known}",
                    param=f"models[{index}]",
                    code="model_not_found",
                )

    async def _notify(self, key_id: str) -> None:
        if self.notify is not None:
            await self.notify(key_id)
