/**
 * Helpers every pool script starts with. KEYS[1] is the EntryPoint's prefix (see keys.ts); every
 * key used is that prefix plus a suffix, so all of them share its hash slot. ARGV[1] is the settings
 * JSON the reputation arithmetic needs.
 */
export const PRELUDE = `
local P = KEYS[1]
local S = cjson.decode(ARGV[1])
local function key(s) return P .. ':' .. s end

-- ERC-7562 status from the counters (allow/block lists are applied by the caller: list 'a' / 'b').
local function status(addr, list)
  if list == 'b' then return 'banned' end
  if list == 'a' then return 'ok' end
  local seen = tonumber(redis.call('HGET', key('r:seen'), addr) or '0')
  local inc = tonumber(redis.call('HGET', key('r:inc'), addr) or '0')
  local minExpected = math.floor(seen / S.den)
  if minExpected <= inc + S.thrSlack then return 'ok' end
  if minExpected <= inc + S.banSlack then return 'throttled' end
  return 'banned'
end
-- Keeps the set of throttled addresses current whenever a counter moves.
local function restatus(addr)
  if status(addr, '') == 'throttled' then
    redis.call('SADD', key('r:thr'), addr)
  else
    redis.call('SREM', key('r:thr'), addr)
  end
end
local function bump(field, addr, by)
  local h = key(field)
  local v = redis.call('HINCRBY', h, addr, by)
  if v < 0 then redis.call('HSET', h, addr, 0) end
  -- Both counters exist for a known address, as in the in-memory Reputation.
  redis.call('HSETNX', key(field == 'r:seen' and 'r:inc' or 'r:seen'), addr, 0)
  restatus(addr)
end

local function baseFee() return tonumber(redis.call('GET', key('m:base')) or '0') end

-- meta: s sender, n nonce (64 hex), sh shard, e entity keys, p prio, f maxFee, h headroom (decimal
-- strings), b admitted at block, a carries an EIP-7702 authorization, m sort member, hm headroom member.
local function insert(hash, payload, metaStr, meta)
  redis.call('HSET', key('m:op'), hash, payload)
  redis.call('HSET', key('m:meta'), hash, metaStr)
  redis.call('HSET', key('m:s:' .. meta.s), meta.n, hash)
  for _, e in ipairs(meta.e) do redis.call('SADD', key('m:e:' .. e), hash) end
  if tonumber(meta.h) >= baseFee() then
    redis.call('ZADD', key('m:q:' .. meta.sh .. ':p'), meta.p, meta.m)
  else
    redis.call('ZADD', key('m:q:' .. meta.sh .. ':f'), meta.f, meta.m)
  end
  redis.call('ZADD', key('m:hr'), meta.h, meta.hm)
  if meta.a then redis.call('SADD', key('m:auth'), hash) end
end

-- Removes an op from every index; returns {payload, metaStr} or nil when it is not pooled.
local function remove(hash)
  local metaStr = redis.call('HGET', key('m:meta'), hash)
  if not metaStr then return nil end
  local meta = cjson.decode(metaStr)
  local payload = redis.call('HGET', key('m:op'), hash)
  redis.call('HDEL', key('m:op'), hash)
  redis.call('HDEL', key('m:meta'), hash)
  local sk = key('m:s:' .. meta.s)
  if redis.call('HGET', sk, meta.n) == hash then redis.call('HDEL', sk, meta.n) end
  for _, e in ipairs(meta.e) do redis.call('SREM', key('m:e:' .. e), hash) end
  redis.call('ZREM', key('m:q:' .. meta.sh .. ':p'), meta.m)
  redis.call('ZREM', key('m:q:' .. meta.sh .. ':f'), meta.m)
  redis.call('ZREM', key('m:hr'), meta.hm)
  redis.call('SREM', key('m:auth'), hash)
  return {payload, metaStr}
end

-- Moves the ops whose group flips between the old and the new base fee.
local function setBase(newStr)
  local old = baseFee()
  local new = tonumber(newStr)
  redis.call('SET', key('m:base'), newStr)
  if new == old then return 0 end
  local lo, hi = math.min(old, new), math.max(old, new)
  local movers = redis.call('ZRANGEBYSCORE', key('m:hr'), lo, '(' .. hi)
  for _, hm in ipairs(movers) do
    local sh, p, f, m = string.match(hm, '^(%d+)|([^|]*)|([^|]*)|(.*)$')
    if new > old then
      redis.call('ZREM', key('m:q:' .. sh .. ':p'), m)
      redis.call('ZADD', key('m:q:' .. sh .. ':f'), f, m)
    else
      redis.call('ZREM', key('m:q:' .. sh .. ':f'), m)
      redis.call('ZADD', key('m:q:' .. sh .. ':p'), p, m)
    end
  end
  return #movers
end
`
