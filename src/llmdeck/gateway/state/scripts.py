"""Lua scripts that make each Redis state operation atomic. Time is Redis's own clock (TIME), so
replicas whose clocks drift still agree on the windows. Numbers come back as strings: Redis
would truncate Lua floats to integers."""

from __future__ import annotations

NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

# KEYS: window hashes (field: bucket number, value: amount).
# ARGV: four per key: amount, limit, window, width.
# Returns {blocked (0 = admitted, else 1-based index), retry_after, bucket..., used...}.
ADMIT = (
    NOW
    + """
local n = #KEYS
local used, buckets = {}, {}
local blocked, wait = 0, 0
for i = 1, n do
  local amount = tonumber(ARGV[4 * i - 3])
  local limit = tonumber(ARGV[4 * i - 2])
  local window = tonumber(ARGV[4 * i - 1])
  local width = tonumber(ARGV[4 * i])
  local first = math.floor((now - window) / width)
  buckets[i] = math.floor(now / width)
  local flat = redis.call('HGETALL', KEYS[i])
  local live, total = {}, 0
  for j = 1, #flat, 2 do
    local b = tonumber(flat[j])
    if b < first then
      redis.call('HDEL', KEYS[i], flat[j])
    else
      local v = tonumber(flat[j + 1])
      total = total + v
      live[#live + 1] = {b, v}
    end
  end
  used[i] = total
  if blocked == 0 and total + amount > limit then
    blocked = i
    wait = window
    table.sort(live, function(x, y) return x[1] < y[1] end)
    local need, freed = total + amount - limit, 0
    for _, bv in ipairs(live) do
      freed = freed + bv[2]
      if freed >= need then
        wait = math.max(0, (bv[1] + 1) * width + window - now)
        break
      end
    end
  end
end
if blocked == 0 then
  for i = 1, n do
    local window = tonumber(ARGV[4 * i - 1])
    local width = tonumber(ARGV[4 * i])
    redis.call('HINCRBY', KEYS[i], string.format('%d', buckets[i]), ARGV[4 * i - 3])
    redis.call('PEXPIRE', KEYS[i], math.ceil((window + width) * 1000))
  end
end
local out = {blocked, tostring(wait)}
for i = 1, n do
  out[#out + 1] = string.format('%d', buckets[i])
  out[#out + 1] = tostring(used[i])
end
return out
"""
)

# KEYS[1]: a window hash. ARGV: bucket, delta, window, width, create ('1': add the bucket if
# absent, replaying an admission made while Redis was down; else only correct an existing one).
ADJUST = (
    NOW
    + """
local window, width = tonumber(ARGV[3]), tonumber(ARGV[4])
local first = math.floor((now - window) / width)
if tonumber(ARGV[1]) < first then return 0 end
if ARGV[5] == '1' or redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
  if ARGV[5] == '1' then redis.call('PEXPIRE', KEYS[1], math.ceil((window + width) * 1000)) end
end
return 0
"""
)

# Budgets. KEYS[1]: hash {spent, held, l:<lease>: amount}; KEYS[2]: zset of lease deadlines.
RELEASE_EXPIRED = """
local function release(lease)
  local amount = redis.call('HGET', KEYS[1], 'l:' .. lease)
  if amount then
    redis.call('HINCRBYFLOAT', KEYS[1], 'held', -tonumber(amount))
    redis.call('HDEL', KEYS[1], 'l:' .. lease)
  end
  redis.call('ZREM', KEYS[2], lease)
  return amount
end
local function expire_at(at)
  if tonumber(at) > 0 then
    redis.call('EXPIREAT', KEYS[1], at)
    redis.call('EXPIREAT', KEYS[2], at)
  end
end
"""

# ARGV: lease, amount, limit, seed ('' = unknown), expire_at (0 = never), lease_ttl, epsilon,
#       force ('1' = hold without checking: replaying a reservation made while Redis was down).
# Returns {'missing'} or {allowed (0/1), spent, held}.
RESERVE = (
    NOW
    + RELEASE_EXPIRED
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[4] == '' then return {'missing'} end
  redis.call('HSET', KEYS[1], 'spent', ARGV[4], 'held', '0')
end
for _, lease in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do release(lease) end
local spent = tonumber(redis.call('HGET', KEYS[1], 'spent') or '0')
local held = math.max(0, tonumber(redis.call('HGET', KEYS[1], 'held') or '0'))
local amount, limit, eps = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[7])
local ok = 0
if ARGV[8] == '1' or (spent < limit - eps and spent + held + amount <= limit + eps) then
  ok = 1
  redis.call('HINCRBYFLOAT', KEYS[1], 'held', ARGV[2])
  redis.call('HSET', KEYS[1], 'l:' .. ARGV[1], ARGV[2])
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[6]), ARGV[1])
end
expire_at(ARGV[5])
return {ok, tostring(spent), tostring(held)}
"""
)

# ARGV: lease, spent, expire_at. Returns {} if the budget is unknown, else {spent, held}.
SETTLE = (
    RELEASE_EXPIRED
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
release(ARGV[1])
local spent = redis.call('HINCRBYFLOAT', KEYS[1], 'spent', ARGV[2])
expire_at(ARGV[3])
return {tostring(spent), redis.call('HGET', KEYS[1], 'held') or '0'}
"""
)
