import { createHash } from 'node:crypto'

/**
 * The Lua scripts of the shared tier. Each runs atomically in Redis, which is what makes the protocol sound:
 * a lookup either finds the page or takes (or sees) the render lock, with nothing in between; a write checks the
 * invalidation epoch and releases the lock in the same step. Names follow names.ts. Redis 6.2+ or Valkey, one
 * primary (not Redis Cluster: the invalidation script reaches pages it finds in the index).
 */
export interface Script {
  name: string
  source: string
  sha: string
}

function script (name: string, source: string): Script {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') }
}

// Milliseconds on Redis' own clock, so expiry scores never depend on the instances' clocks.
const nowMs = String.raw`
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`

/**
 * KEYS page, lock, epoch; ARGV token, lockTtlMs ('0': no lock).
 * Returns [page, pttl, epoch] on a hit, [nil, state, epoch] on a miss: state 1 lock taken, 0 held by another,
 * -1 no lock asked.
 */
export const lookupScript = script('lookup', String.raw`
local value = redis.call('GET', KEYS[1])
local epoch = redis.call('GET', KEYS[3])
if value then return {value, redis.call('PTTL', KEYS[1]), epoch} end
if ARGV[2] == '0' then return {false, -1, epoch} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {false, 1, epoch} end
return {false, 0, epoch}
`)

/**
 * KEYS page, lock, epoch, index, expiry; ARGV value, ttlMs ('0': none), epoch seen before the render ('' if none),
 * lock token ('' if none), hash, version, url, rendered channel.
 * Stores the page only if no invalidation ran since the render began; in any case releases the lock and wakes the
 * instances waiting for it. Also prunes a few index members whose pages expired. Returns 1 if stored.
 */
export const storeScript = script('store', nowMs + String.raw`
local stored = 0
if (redis.call('GET', KEYS[3]) or '') == ARGV[3] then
  local ttl = tonumber(ARGV[2])
  local score = '+inf'
  if ttl > 0 then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
    score = now_ms() + ttl
  else
    redis.call('SET', KEYS[1], ARGV[1])
  end
  local h, v, u = ARGV[5], ARGV[6], ARGV[7]
  redis.call('ZADD', KEYS[4], 0, 'u\0' .. u .. '\0' .. h .. '\0' .. v, 0, 'k\0' .. h .. '\0' .. v .. '\0' .. u)
  redis.call('ZADD', KEYS[5], score, h .. '\0' .. v .. '\0' .. u)
  stored = 1
end
if ARGV[4] ~= '' and redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[8], KEYS[1])
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now_ms(), 'LIMIT', 0, 16)) do
  local h, v, u = string.match(m, '^([^%z]*)%z([^%z]*)%z(.*)$')
  redis.call('ZREM', KEYS[4], 'u\0' .. u .. '\0' .. h .. '\0' .. v, 'k\0' .. h .. '\0' .. v .. '\0' .. u)
  redis.call('ZREM', KEYS[5], m)
end
return stored
`)

/**
 * KEYS index, expiry, epoch; ARGV prefix, kind ('key' | 'prefix' | 'clear'), hash or URL prefix, batch size,
 * bump ('1' on the first batch), invalidation channel, message.
 * Deletes up to `batch` pages, in every bundle version, from Redis and the index. The first batch increments the
 * epoch (seeding it from Redis' clock, so a restarted Redis never repeats an epoch an instance saw); the last one
 * publishes `<epoch>\n<message>`. Returns [removed, more (1 if another batch is needed), epoch].
 */
export const invalidateScript = script('invalidate', String.raw`
local prefix, kind, arg, batch = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local function remove(h, v, u)
  redis.call('DEL', prefix .. 'page:' .. v .. ':' .. h)
  redis.call('ZREM', KEYS[1], 'u\0' .. u .. '\0' .. h .. '\0' .. v, 'k\0' .. h .. '\0' .. v .. '\0' .. u)
  redis.call('ZREM', KEYS[2], h .. '\0' .. v .. '\0' .. u)
end
local epoch
if ARGV[5] == '1' then
  if redis.call('EXISTS', KEYS[3]) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', KEYS[3], t[1] .. string.format('%06d', tonumber(t[2])))
  end
  epoch = redis.call('INCR', KEYS[3])
else
  epoch = tonumber(redis.call('GET', KEYS[3]) or '0')
end
local members
if kind == 'key' then
  members = redis.call('ZRANGEBYLEX', KEYS[1], '[k\0' .. arg .. '\0', '(k\0' .. arg .. '\1', 'LIMIT', 0, batch)
  for _, m in ipairs(members) do
    local h, v, u = string.match(m, '^k%z([^%z]*)%z([^%z]*)%z(.*)$')
    remove(h, v, u)
  end
else
  local low, high = '[u\0', '(u\1'
  if kind == 'prefix' then low, high = '[u\0' .. arg, '(u\0' .. arg .. '\255' end
  members = redis.call('ZRANGEBYLEX', KEYS[1], low, high, 'LIMIT', 0, batch)
  for _, m in ipairs(members) do
    local u, h, v = string.match(m, '^u%z(.*)%z([^%z]*)%z([^%z]*)$')
    remove(h, v, u)
  end
end
local more = 0
if #members == batch then more = 1 end
local epochText = string.format('%.0f', epoch)
if more == 0 then redis.call('PUBLISH', ARGV[6], epochText .. '\n' .. ARGV[7]) end
return {#members, more, epochText}
`)

/** KEYS lock; ARGV token, rendered channel, page name. Releases a lock this instance holds and wakes waiters. */
export const releaseScript = script('release', String.raw`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
`)

/** KEYS lock; ARGV token, ttlMs. Extends a lock this instance still holds; 1 if it did. */
export const extendScript = script('extend', String.raw`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)
