import { PRELUDE } from './lua-prelude.js'

/**
 * Admission in one step: the mempool and reputation rules of admission.ts checked against the pool
 * as it is and applied at once (replace, evict, insert, count seen), or nothing. What needs exact
 * bigint fee arithmetic stays with the caller, who passes what it decided and the script checks that
 * the pool still is as it was then:
 *   ARGV[2] hash, [3] payload, [4] meta, [5] roles {s = {k, l, st}, e = {{k, l, st, kind}}},
 *   [6] the op the caller priced the replacement against ('' for none), [7] the op to evict ('').
 * Returns {'OK', seq} or the rule that refused it: DUP, REPLACE (old hash, old payload), CONFLICT
 * (the pool moved: ask again), AUTH_PER_SENDER (pooled hash), SENDER_IS_ENTITY, ENTITY_IS_SENDER i, BANNED role i, THROTTLED role i
 * count, SENDER_LIMIT count limit exempt, ENTITY_LIMIT i count allowed, FULL size.
 */
export const ADMIT = `${PRELUDE}
local hash, payload, meta = ARGV[2], ARGV[3], cjson.decode(ARGV[4])
local roles = cjson.decode(ARGV[5])
local expectReplace, evict = ARGV[6], ARGV[7]
if redis.call('HEXISTS', key('m:meta'), hash) == 1 then return {'DUP'} end

local rep = redis.call('HGET', key('m:s:' .. meta.s), meta.n)
local repMeta
if rep then
  if rep ~= expectReplace then return {'REPLACE', rep, redis.call('HGET', key('m:op'), rep)} end
  repMeta = cjson.decode(redis.call('HGET', key('m:meta'), rep))
elseif expectReplace ~= '' then
  return {'CONFLICT'}
end

-- EIP-7702: one op with an authorization per sender (the one it replaces excepted).
if meta.a then
  for _, h in ipairs(redis.call('HVALS', key('m:s:' .. meta.s))) do
    if h ~= rep and redis.call('SISMEMBER', key('m:auth'), h) == 1 then return {'AUTH_PER_SENDER', h} end
  end
end

if redis.call('SCARD', key('m:e:' .. roles.s.k)) > 0 then return {'SENDER_IS_ENTITY'} end
for i, ent in ipairs(roles.e) do
  if redis.call('HLEN', key('m:s:' .. ent.k)) > 0 then return {'ENTITY_IS_SENDER', i} end
end

local senderOps = redis.call('HLEN', key('m:s:' .. roles.s.k)) - (rep and 1 or 0)
local function entityOps(k)
  local n = redis.call('SCARD', key('m:e:' .. k))
  if repMeta then
    for _, e in ipairs(repMeta.e) do if e == k then return n - 1 end end
  end
  return n
end

local function checkStatus(k, list, i, ops)
  local st = status(k, list)
  if st == 'banned' then return {'BANNED', i} end
  if st == 'throttled' and ops >= S.thrCount then return {'THROTTLED', i, ops} end
  return nil
end
local refused = checkStatus(roles.s.k, roles.s.l, 0, senderOps)
if refused then return refused end
for i, ent in ipairs(roles.e) do
  refused = checkStatus(ent.k, ent.l, i, entityOps(ent.k))
  if refused then return refused end
end

local exempt = roles.s.st or roles.s.l == 'a'
local limit = exempt and S.maxStaked or S.maxUnstaked
if senderOps >= limit then return {'SENDER_LIMIT', senderOps, limit, exempt and 1 or 0} end
for i, ent in ipairs(roles.e) do
  if not ent.st and ent.l ~= 'a' then
    local seen = tonumber(redis.call('HGET', key('r:seen'), ent.k) or '0')
    local inc = tonumber(redis.call('HGET', key('r:inc'), ent.k) or '0')
    local allowed = S.sameUnstaked
    if seen > 0 then
      allowed = allowed + math.floor((S.incFactor * inc) / seen) + math.min(inc, S.maxUnstakedEntity)
    end
    local count = entityOps(ent.k)
    if count >= allowed then return {'ENTITY_LIMIT', i, count, allowed} end
  end
end

if not rep then
  local size = redis.call('HLEN', key('m:meta'))
  if size >= S.maxOps then
    if evict == '' then return {'FULL', size} end
    if not remove(evict) then return {'CONFLICT'} end
  end
end
if rep then remove(rep) end

local seq = redis.call('INCR', key('m:seq'))
meta.m = string.format('%015.0f', 999999999999999 - seq) .. ':' .. hash
meta.hm = meta.sh .. '|' .. meta.p .. '|' .. meta.f .. '|' .. meta.m
insert(hash, payload, cjson.encode(meta), meta)
bump('r:seen', roles.s.k, 1)
for _, ent in ipairs(roles.e) do bump('r:seen', ent.k, 1) end
return {'OK', seq}
`

/** Removes ops by hash (ARGV[2..]); returns how many were pooled. */
export const REMOVE = `${PRELUDE}
local n = 0
for i = 2, #ARGV do
  if remove(ARGV[i]) then n = n + 1 end
end
return n
`

/**
 * ARGV[2]: the new base fee (decimal), ARGV[3]: the most ops to move in this call (default
 * MOVE_CHUNK). Returns 1 when every op is in its group for it, else 0 (MOVE_BASE goes on).
 */
export const SET_BASE_FEE = `${PRELUDE}
return setBase(ARGV[2], tonumber(ARGV[3] or MOVE_CHUNK))
`

/** Moves the next ops toward the target base fee; ARGV[2] as SET_BASE_FEE's ARGV[3]. Returns 1 when done. */
export const MOVE_BASE = `${PRELUDE}
return moveBase(tonumber(ARGV[2] or MOVE_CHUNK))
`

/**
 * Reputation writes. ARGV[2] the operation, ARGV[3..] addresses (and values):
 * seen_dec addr… | staked addr… (opsSeen = penalty, opsIncluded = 0) | unstaked addr… (opsSeen +=
 * penalty) | set addr seen included … | decay (×23/24, once per interval: ARGV[3] the interval ms).
 */
export const REPUTATION = `${PRELUDE}
local op = ARGV[2]
if op == 'seen_dec' then
  for i = 3, #ARGV do
    bump('r:seen', ARGV[i], -1)
  end
elseif op == 'staked' then
  for i = 3, #ARGV do
    redis.call('HSET', key('r:seen'), ARGV[i], S.banPenalty)
    redis.call('HSET', key('r:inc'), ARGV[i], 0)
    restatus(ARGV[i])
  end
elseif op == 'unstaked' then
  for i = 3, #ARGV do bump('r:seen', ARGV[i], S.unstakedPenalty) end
elseif op == 'set' then
  for i = 3, #ARGV, 3 do
    redis.call('HSET', key('r:seen'), ARGV[i], ARGV[i + 1])
    redis.call('HSET', key('r:inc'), ARGV[i], ARGV[i + 2])
    restatus(ARGV[i])
  end
elseif op == 'decay' then
  -- Every process runs the timer; only the first one in each interval decays.
  if not redis.call('SET', key('r:decay'), '1', 'NX', 'PX', ARGV[3]) then return 0 end
  for _, field in ipairs({'r:seen', 'r:inc'}) do
    local all = redis.call('HGETALL', key(field))
    for i = 1, #all, 2 do
      local v = math.floor(tonumber(all[i + 1]) * 23 / 24)
      redis.call('HSET', key(field), all[i], v)
    end
  end
  -- Entries reaching zero on both counters are forgotten.
  local seen = redis.call('HGETALL', key('r:seen'))
  for i = 1, #seen, 2 do
    if seen[i + 1] == '0' and (redis.call('HGET', key('r:inc'), seen[i]) or '0') == '0' then
      redis.call('HDEL', key('r:seen'), seen[i])
      redis.call('HDEL', key('r:inc'), seen[i])
    end
  end
  local all = redis.call('HGETALL', key('r:seen'))
  for i = 1, #all, 2 do restatus(all[i]) end
  for _, a in ipairs(redis.call('SMEMBERS', key('r:thr'))) do restatus(a) end
end
return 1
`
