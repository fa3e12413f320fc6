/**
 * Claims on op senders, one key per (EntryPoint, sender) in the EntryPoint's slot: <p>:k:<sender> →
 * owner, with a TTL. KEYS[1] the prefix; ARGV[1] the owner, ARGV[2] the TTL in ms, ARGV[3..] senders.
 */

/** Takes each free claim (or extends our own); returns 1 per sender now ours, 0 per sender taken. */
export const CLAIM = `
local out = {}
for i = 3, #ARGV do
  local k = KEYS[1] .. ':k:' .. ARGV[i]
  local cur = redis.call('GET', k)
  if not cur then
    redis.call('SET', k, ARGV[1], 'PX', ARGV[2])
    out[#out + 1] = 1
  elseif cur == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
`

/** Extends our claims; 0 for one that expired or another owner holds (lost). */
export const RENEW = `
local out = {}
for i = 3, #ARGV do
  local k = KEYS[1] .. ':k:' .. ARGV[i]
  if redis.call('GET', k) == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
`

/** Deletes our claims (never another owner's). */
export const RELEASE = `
for i = 3, #ARGV do
  local k = KEYS[1] .. ':k:' .. ARGV[i]
  if redis.call('GET', k) == ARGV[1] then redis.call('DEL', k) end
end
return 1
`
