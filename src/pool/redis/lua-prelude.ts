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
-- Ops moved between queues per script call when the base fee changes (the rest in later calls).
local MOVE_CHUNK = 1000

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

-- Moves ops whose group flips between the current boundary (m:base) and the target base fee
-- (m:basetarget), about \`limit\` of them per call, never splitting one headroom value, and leaves
-- m:base at how far it got. After every call, an op is in its shard's tip queue exactly when its
-- headroom is at least m:base, so a reader between calls sees one consistent boundary; Redis is
-- never held for a whole pool's worth of moves. Returns 1 when m:base has reached the target.
local function moveBase(limit)
  local targetStr = redis.call('GET', key('m:basetarget'))
  if not targetStr then return 1 end
  local oldStr = redis.call('GET', key('m:base')) or '0'
  local old, new = tonumber(oldStr), tonumber(targetStr)
  if new == old then
    redis.call('SET', key('m:base'), targetStr)
    return 1
  end
  local up = new > old
  local hr = key('m:hr')
  local got
  if up then
    got = redis.call('ZRANGEBYSCORE', hr, oldStr, '(' .. targetStr, 'WITHSCORES', 'LIMIT', 0, limit + 1)
  else
    got = redis.call('ZREVRANGEBYSCORE', hr, '(' .. oldStr, targetStr, 'WITHSCORES', 'LIMIT', 0, limit + 1)
  end
  local moved, boundary = {}, targetStr
  if #got / 2 > limit then
    -- Stop before the last headroom read (ops of one headroom move together); the boundary is
    -- where the moved ops end: the first headroom left (up), the lowest headroom moved (down).
    local lastStr = got[#got]
    for i = 1, #got, 2 do
      if got[i + 1] ~= lastStr then moved[#moved + 1] = got[i] end
    end
    if #moved == 0 then
      -- Every op read has that one headroom: all of its ops move now.
      moved = redis.call('ZRANGEBYSCORE', hr, lastStr, lastStr)
      if up then
        local nxt = redis.call('ZRANGEBYSCORE', hr, '(' .. lastStr, '(' .. targetStr, 'WITHSCORES', 'LIMIT', 0, 1)
        boundary = nxt[2] or targetStr
      else
        boundary = lastStr
      end
    elseif up then
      boundary = lastStr
    else
      boundary = got[2 * #moved]
    end
  else
    for i = 1, #got, 2 do moved[#moved + 1] = got[i] end
  end
  for _, hm in ipairs(moved) do
    local sh, p, f, m = string.match(hm, '^(%d+)|([^|]*)|([^|]*)|(.*)$')
    if up then
      redis.call('ZREM', key('m:q:' .. sh .. ':p'), m)
      redis.call('ZADD', key('m:q:' .. sh .. ':f'), f, m)
    else
      redis.call('ZREM', key('m:q:' .. sh .. ':f'), m)
      redis.call('ZADD', key('m:q:' .. sh .. ':p'), p, m)
    end
  end
  redis.call('SET', key('m:base'), boundary)
  if tonumber(boundary) == new then
    redis.call('SET', key('m:base'), targetStr)
    return 1
  end
  return 0
end
-- Sets the target base fee and makes the first moves toward it.
local function setBase(newStr, limit)
  redis.call('SET', key('m:basetarget'), newStr)
  return moveBase(limit)
end
`
