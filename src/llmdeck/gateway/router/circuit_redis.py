"""Circuit records in Redis, shared by every replica: the rules of `circuit.py`, run
atomically in Lua (one round trip per admission and per outcome).

In a gateway the store borrows the shared state's Redis (`gateway.state.SharedRedis`): while
that state runs on its local fallback, circuits are kept by this replica alone
(`LocalCircuits`) and shared again when Redis returns. A store given only a URL opens its own
connection and fails open when Redis cannot be reached: requests go through, and a warning is
logged now and then.

Each deployment is one hash, `<prefix>circuit:<name>`, expiring a while after its last use.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from llmdeck.config import CircuitSettings
from llmdeck.gateway.router.circuit import (
    ALLOWED,
    BUCKETS,
    Admission,
    CircuitView,
    LocalCircuits,
    Outcome,
    State,
    Transition,
)
from llmdeck.gateway.state import SharedRedis

log = logging.getLogger("llmdeck.router")
WARN_EVERY = 30.0

# KEYS[1] the hash; ARGV: now, window, min_requests, failure_rate, consecutive_failures,
# cooldown, enabled, buckets, then per script. Numbers go back as strings (Lua would truncate).
_COMMON = """
local key = KEYS[1]
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local min_requests, rate = tonumber(ARGV[3]), tonumber(ARGV[4])
local in_a_row, cooldown = tonumber(ARGV[5]), tonumber(ARGV[6])
local enabled, buckets = ARGV[7] == '1', tonumber(ARGV[8])
local width = window / buckets
local h = redis.call('HGETALL', key)
local r = {}
for i = 1, #h, 2 do r[h[i]] = h[i + 1] end
local state = r.state or 'closed'
local function num(name) return tonumber(r[name] or '0') end
local function counts()
  local oldest = math.floor(now / width) - buckets + 1
  local n, f = 0, 0
  for name, value in pairs(r) do
    local kind, bucket = string.match(name, '^([nf]):(-?%d+)$')
    if kind then
      if tonumber(bucket) < oldest then redis.call('HDEL', key, name)
      elseif kind == 'n' then n = n + tonumber(value) else f = f + tonumber(value) end
    end
  end
  return n, f
end
local function reset()
  for name, _ in pairs(r) do
    if string.match(name, '^[nf]:') then redis.call('HDEL', key, name) end
  end
  redis.call('HSET', key, 'state', 'closed', 'consecutive', 0, 'probe_until', 0)
end
redis.call('PEXPIRE', key, math.floor((window + cooldown) * 10000) + 3600000)
"""

_ADMIT = (
    _COMMON
    + """
local lease = tonumber(ARGV[9])
local rest_until = num('rest_until')
if rest_until > now then return {0, 0, 'resting (Retry-After)', tostring(rest_until - now), ''} end
if not enabled or state == 'closed' then return {1, 0, '', '0', ''} end
local moved = ''
if state == 'open' then
  local reopen = num('opened_at') + cooldown
  if now < reopen then return {0, 0, 'circuit open', tostring(reopen - now), ''} end
  redis.call('HSET', key, 'state', 'half-open', 'probe_until', 0)
  r.probe_until = '0'
  moved = 'half-open'
end
if num('probe_until') > now then
  return {0, 0, 'circuit half-open, probe in flight', '0', moved}
end
redis.call('HSET', key, 'probe_until', tostring(now + lease))
return {1, 1, 'probe', '0', moved}
"""
)

_SETTLE = (
    _COMMON
    + """
local outcome, probe, rest = ARGV[9], ARGV[10] == '1', tonumber(ARGV[11])
if rest > 0 and now + rest > num('rest_until') then
  redis.call('HSET', key, 'rest_until', tostring(now + rest))
end
if outcome == 'released' then
  if probe and state == 'half-open' then redis.call('HSET', key, 'probe_until', 0) end
  return {}
end
local ok = outcome == 'success'
if state == 'half-open' then
  if not probe then return {} end
  if ok then reset(); return {'half-open', 'closed', 'probe succeeded'} end
  redis.call('HSET', key, 'state', 'open', 'opened_at', tostring(now), 'probe_until', 0)
  return {'half-open', 'open', 'probe failed'}
end
if state == 'open' or not enabled then return {} end
local n, f = counts()
local bucket = tostring(math.floor(now / width))
redis.call('HINCRBY', key, 'n:' .. bucket, 1)
n = n + 1
if ok then redis.call('HSET', key, 'consecutive', 0); return {} end
redis.call('HINCRBY', key, 'f:' .. bucket, 1)
f = f + 1
local streak = redis.call('HINCRBY', key, 'consecutive', 1)
local reason
if streak >= in_a_row then reason = streak .. ' failures in a row'
elseif n >= min_requests and f >= rate * n then
  local shown = tostring(window)
  if window == math.floor(window) then shown = string.format('%d', window) end
  reason = f .. ' of ' .. n .. ' attempts failed in ' .. shown .. 's'
else return {} end
reset()
redis.call('HDEL', key, 'n:' .. bucket, 'f:' .. bucket)
redis.call('HSET', key, 'state', 'open', 'opened_at', tostring(now))
return {'closed', 'open', reason}
"""
)

_VIEW = (
    _COMMON
    + """
local n, f = counts()
local retry_in = 0
if state == 'open' then retry_in = math.max(0, num('opened_at') + cooldown - now) end
return {state, n, f, num('consecutive'), tostring(retry_in),
        tostring(math.max(0, num('rest_until') - now))}
"""
)


def _args(settings: CircuitSettings, now: float) -> list[Any]:
    return [
        repr(now),
        repr(settings.window),
        settings.min_requests,
        repr(settings.failure_rate),
        settings.consecutive_failures,
        repr(settings.cooldown),
        "1" if settings.enabled else "0",
        BUCKETS,
    ]


class RedisCircuits:
    """Circuit records shared through Redis: a borrowed connection (`SharedRedis`, with a
    local fallback) or one of its own (`url`, failing open)."""

    def __init__(self, redis: str | SharedRedis, *, prefix: str = "llmdeck:") -> None:
        self.link = redis if isinstance(redis, SharedRedis) else None
        if isinstance(redis, SharedRedis):
            self.redis = redis.client
            self.prefix = redis.prefix
        else:
            self.redis = aioredis.Redis.from_url(redis)
            self.prefix = prefix
        self.fallback = LocalCircuits()
        self._admit = self.redis.register_script(_ADMIT)
        self._settle = self.redis.register_script(_SETTLE)
        self._view = self.redis.register_script(_VIEW)
        self._warned = 0.0

    def _key(self, name: str) -> str:
        return f"{self.prefix}circuit:{name}"

    def _local(self) -> bool:
        """Whether to use this replica's own circuits now (the shared state fell back)."""
        return self.link is not None and not self.link.available()

    def _unreachable(self, exc: RedisError) -> None:
        if self.link is not None:
            self.link.lost(exc)
            return
        now = time.monotonic()
        if now - self._warned > WARN_EVERY:
            self._warned = now
            log.warning("circuit state in Redis unavailable (%s); circuits fail open", exc)

    async def admit(
        self, name: str, settings: CircuitSettings, now: float, lease: float
    ) -> Admission:
        """See `circuit.admit`."""
        if self._local():
            return await self.fallback.admit(name, settings, now, lease)
        try:
            out = await self._admit(keys=[self._key(name)], args=[*_args(settings, now), lease])
        except RedisError as exc:
            self._unreachable(exc)
            if self.link is not None:
                return await self.fallback.admit(name, settings, now, lease)
            return ALLOWED
        allowed, probe, reason, retry_in, moved = out
        transition = None
        if moved:
            transition = Transition(name, "open", "half-open", "cooldown over", now)
        return Admission(bool(allowed), bool(probe), reason.decode(), float(retry_in), transition)

    async def settle(
        self,
        name: str,
        settings: CircuitSettings,
        outcome: Outcome,
        now: float,
        *,
        probe: bool = False,
        rest: float = 0.0,
    ) -> Transition | None:
        """See `circuit.settle`."""
        if self._local():
            return await self.fallback.settle(name, settings, outcome, now, probe=probe, rest=rest)
        args = [*_args(settings, now), outcome, "1" if probe else "0", repr(rest)]
        try:
            out = await self._settle(keys=[self._key(name)], args=args)
        except RedisError as exc:
            self._unreachable(exc)
            return None
        if not out:
            return None
        before, after, reason = (part.decode() for part in out)
        return Transition(name, _state(before), _state(after), reason, now)

    async def view(self, name: str, settings: CircuitSettings, now: float) -> CircuitView:
        """See `circuit.view`."""
        if self._local():
            return await self.fallback.view(name, settings, now)
        try:
            out = await self._view(keys=[self._key(name)], args=_args(settings, now))
        except RedisError as exc:
            self._unreachable(exc)
            return CircuitView("closed", 0, 0, 0, 0.0, 0.0)
        state, requests, failures, consecutive, retry_in, resting = out
        return CircuitView(
            _state(state.decode()),
            int(requests),
            int(failures),
            int(consecutive),
            float(retry_in),
            float(resting),
        )

    async def close(self) -> None:
        """Close the connection pool, if it is this store's own."""
        if self.link is None:
            await self.redis.aclose()


_STATES: dict[str, State] = {"closed": "closed", "open": "open", "half-open": "half-open"}


def _state(value: str) -> State:
    return _STATES[value]
