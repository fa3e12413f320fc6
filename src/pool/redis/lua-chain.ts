import { PRELUDE } from './lua-prelude.js'

// Prunes a block that fell out of the window: its undo record and the receipts it still owns.
const PRUNE = `
local function prune(number, hash)
  redis.call('HDEL', key('c:blocks'), number)
  local recStr = redis.call('GET', key('c:rec:' .. hash))
  redis.call('DEL', key('c:rec:' .. hash))
  if not recStr then return end
  for _, m in ipairs(cjson.decode(recStr).mined) do
    if redis.call('HGET', key('c:minedblk'), m.h) == hash then
      redis.call('HDEL', key('c:mined'), m.h)
      redis.call('HDEL', key('c:minedop'), m.h)
      redis.call('HDEL', key('c:minedblk'), m.h)
    end
  end
end
`

/**
 * Applies one block to one EntryPoint's pool, once: the watermark (c:blocks, number → hash) makes a
 * second application of the same block a no-op, refuses a block whose number already holds another
 * hash (CONFLICT: the caller unwinds the other branch first) or whose parent is not the block applied
 * below it (STALE). ARGV: [2] number, [3] hash, [4] parent hash, [5] base fee, [6] window (blocks),
 * [7] mined ops JSON: {{h, s, n (64 hex), pm, info, hasOp}}.
 * Removes mined ops and the ops they made stale, stores receipts, bumps opsIncluded, sets the base
 * fee (the first MOVE_CHUNK ops change group here, the caller moves the rest), keeps an undo record. Returns 'OK', 'DUP', 'CONFLICT' or 'STALE'.
 */
export const APPLY_BLOCK = `${PRELUDE}${PRUNE}
local number, hash, parent = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local window = tonumber(ARGV[6])
local cur = redis.call('HGET', key('c:blocks'), ARGV[2])
if cur == hash then return 'DUP' end
if cur then return 'CONFLICT' end
local below = redis.call('HGET', key('c:blocks'), string.format('%.0f', number - 1))
if below and below ~= parent then return 'STALE' end

-- The first ops toward the new base fee; the caller moves the rest (MOVE_BASE) after this script.
setBase(ARGV[5], MOVE_CHUNK)
local rec = {mined = {}, included = {}}
for _, m in ipairs(cjson.decode(ARGV[7])) do
  local pooledMeta = redis.call('HGET', key('m:meta'), m.h)
  local pooled = nil
  if pooledMeta then pooled = {redis.call('HGET', key('m:op'), m.h), pooledMeta} end
  -- The op leaves, and so does every op of its nonce key at or below its sequence.
  local sk = key('m:s:' .. m.s)
  local nonces = redis.call('HGETALL', sk)
  for i = 1, #nonces, 2 do
    local n = nonces[i]
    if string.sub(n, 1, 48) == string.sub(m.n, 1, 48) and string.sub(n, 49) <= string.sub(m.n, 49) then
      remove(nonces[i + 1])
    end
  end
  if pooled then remove(m.h) end
  if m.hasOp or pooled then
    redis.call('HSET', key('c:mined'), m.h, m.info)
    redis.call('HSET', key('c:minedblk'), m.h, hash)
    if not m.hasOp then redis.call('HSET', key('c:minedop'), m.h, pooled[1]) end
  end
  local entry = {h = m.h}
  if pooled then entry.r = pooled end
  table.insert(rec.mined, entry)
  local included = {m.s}
  if pooled then
    for _, e in ipairs(cjson.decode(pooled[2]).e) do table.insert(included, e) end
  else
    if m.f ~= '' then table.insert(included, m.f) end
    if m.pm ~= '' then table.insert(included, m.pm) end
  end
  for _, a in ipairs(included) do
    bump('r:inc', a, 1)
    table.insert(rec.included, a)
  end
end
redis.call('SET', key('c:rec:' .. hash), cjson.encode(rec))
redis.call('HSET', key('c:blocks'), ARGV[2], hash)
-- Blocks at or below number - window leave the window (also ones left over from a gap).
local blocks = redis.call('HGETALL', key('c:blocks'))
for i = 1, #blocks, 2 do
  if tonumber(blocks[i]) <= number - window then prune(blocks[i], blocks[i + 1]) end
end
return 'OK'
`

/**
 * Undoes one applied block (the newest applied): receipts it stored are forgotten, the ops it took
 * out return unless their hash or (sender, nonce) was taken meanwhile, opsIncluded goes back.
 * ARGV: [2] number, [3] hash. Returns 'OK', or 'SKIP' when that block is not the applied tip.
 */
export const UNWIND_BLOCK = `${PRELUDE}
local number, hash = tonumber(ARGV[2]), ARGV[3]
if redis.call('HGET', key('c:blocks'), ARGV[2]) ~= hash then return 'SKIP' end
if redis.call('HEXISTS', key('c:blocks'), string.format('%.0f', number + 1)) == 1 then return 'SKIP' end
local recStr = redis.call('GET', key('c:rec:' .. hash))
if recStr then
  local rec = cjson.decode(recStr)
  for _, m in ipairs(rec.mined) do
    if redis.call('HGET', key('c:minedblk'), m.h) == hash then
      redis.call('HDEL', key('c:mined'), m.h)
      redis.call('HDEL', key('c:minedop'), m.h)
      redis.call('HDEL', key('c:minedblk'), m.h)
    end
    if m.r then
      local meta = cjson.decode(m.r[2])
      if redis.call('HEXISTS', key('m:meta'), m.h) == 0 and not redis.call('HGET', key('m:s:' .. meta.s), meta.n) then
        insert(m.h, m.r[1], m.r[2], meta)
      end
    end
  end
  for _, a in ipairs(rec.included) do bump('r:inc', a, -1) end
end
redis.call('DEL', key('c:rec:' .. hash))
redis.call('HDEL', key('c:blocks'), ARGV[2])
return 'OK'
`
