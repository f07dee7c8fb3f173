"""The keys this replica knows, in memory: resolving a presented key is one SHA-256 and one
dictionary lookup.

Changes reach every replica two ways: a message on the shared state's `keys` channel (Redis
pub/sub: at once), and a poll of the database's key revision every `key_refresh` seconds (one
single-row query), which also covers messages lost while Redis was away. A key unknown here may
have just been created on another replica: the ring refreshes once before it calls the key
invalid (callers share one refresh, started at most every 50 ms, so a flood of made-up keys costs
at most 20 small queries a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from llmdeck.errors import Unauthorized
from llmdeck.gateway.call import Principal
from llmdeck.gateway.keys import repo
from llmdeck.gateway.keys.model import KeyRecord
from llmdeck.gateway.keys.secret import hash_secret
from llmdeck.gateway.state import StateBackend
from llmdeck.store import Store

log = logging.getLogger(__name__)

CHANNEL = "keys"
MISS_REFRESH_GAP = 0.05


class KeyRing:
    """A KeyResolver over an in-memory copy of the keys table."""

    def __init__(self, store: Store, state: StateBackend, *, refresh: float = 0.5) -> None:
        self.store = store
        self.state = state
        self.interval = refresh
        self.revision = 0
        self._by_hash: dict[str, KeyRecord] = {}
        self._by_id: dict[str, KeyRecord] = {}
        self._ever = self._count_now()
        self._refreshing: asyncio.Task[None] | None = None
        self._last_refresh = 0.0
        self._poller: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        state.subscribe(CHANNEL, self._on_message)

    def _count_now(self) -> int:
        """Keys in the database now (0 before the first migration)."""
        try:
            return self.store.read(repo.count_keys)
        except DBAPIError:
            return 0

    @property
    def enabled(self) -> bool:
        """Whether any key was ever created: from then on every request needs a key."""
        return self._ever > 0 or bool(self._by_id)

    async def start(self) -> None:
        """Load every key, then poll for changes."""
        await self.refresh()
        self._poller = asyncio.create_task(self._poll(), name="llmdeck-key-poll")

    async def close(self) -> None:
        """Stop polling."""
        tasks = [t for t in (self._poller, self._refreshing, *self._pending) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._poller = None

    async def resolve(self, secret: str) -> Principal | None:
        """The principal for a presented key; None if unknown. A revoked or expired key is
        refused with a message that says so (the caller holds its secret, so this tells them
        nothing new)."""
        digest = hash_secret(secret)
        record = self._by_hash.get(digest)
        if record is None:
            try:
                await self.refresh(gap=MISS_REFRESH_GAP)
            except DBAPIError as exc:
                log.warning("could not look up a key: %s", type(exc).__name__)
                return None
            record = self._by_hash.get(digest)
            if record is None:
                return None
        if record.revoked_at is not None:
            raise Unauthorized(f"key {record.name!r} was revoked", code="key_revoked")
        if record.expired():
            raise Unauthorized(f"key {record.name!r} has expired", code="key_expired")
        return record.principal

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, key_id: str | None) -> KeyRecord | None:
        """A known key by id."""
        return self._by_id.get(key_id) if key_id is not None else None

    async def refresh(self, gap: float = 0.0) -> None:
        """Apply the changes committed since the last refresh. One refresh runs at a time and
        callers share it; with `gap`, it starts no sooner than `gap` seconds after the last."""
        task = self._refreshing
        if task is None:
            task = self._refreshing = asyncio.create_task(self._refresh(gap))
            task.add_done_callback(self._refreshed)
        await asyncio.shield(task)

    def _refreshed(self, task: asyncio.Task[None]) -> None:
        if self._refreshing is task:
            self._refreshing = None
        if not task.cancelled():
            task.exception()  # retrieved here; every awaiter sees it too

    async def _refresh(self, gap: float) -> None:
        wait = self._last_refresh + gap - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_refresh = time.monotonic()
        after = self.revision

        def load(conn: Connection) -> tuple[int, list[KeyRecord]]:
            upto = repo.current_revision(conn)
            return upto, repo.changed_keys(conn, after, upto) if upto != after else []

        upto, records = await self.store.aread(load)
        for record in records:
            old = self._by_id.get(record.id)
            if old is not None and old.key_hash != record.key_hash:
                self._by_hash.pop(old.key_hash, None)
            self._by_id[record.id] = record
            self._by_hash[record.key_hash] = record
        self.revision = max(self.revision, upto)

    async def changed(self, key_id: str) -> None:
        """A key changed here: refresh now, and tell the other replicas."""
        await self.refresh()
        await self.state.publish(CHANNEL, key_id)

    def _on_message(self, key_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self.refresh())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.refresh()
            except DBAPIError as exc:
                log.warning("could not refresh keys: %s", exc.__class__.__name__)
