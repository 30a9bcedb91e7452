/**
 * The Lua scripts of RedisStore: its writes, atomic for every client of the server. No Koa in here.
 */
import { createHash } from 'node:crypto'

/**
 * set / setIfAbsent / compareAndSet in one script.
 * KEYS[1] the full key, KEYS[2] the new user's index (or the key again when none).
 * ARGV: mode ('set' | 'nx' | 'cas'), the stored JSON, PXAT ms ('' for none), whether there is a
 * user ('1' / '0'), the index prefix, the expected value's JSON (cas only).
 * Numbers are compared as decoded doubles, never re-encoded (cjson would round them).
 */
const WRITE_SCRIPT = `
local old = redis.call('GET', KEYS[1])
local mode = ARGV[1]
if mode == 'nx' and old then return 0 end
local previous
if old then previous = cjson.decode(old) end
if mode == 'cas' then
  if not previous then return 0 end
  local stored = previous.v
  local expected = cjson.decode(ARGV[6])
  if type(stored) ~= 'table' or type(expected) ~= 'table' then return 0 end
  local count = 0
  for name, value in pairs(expected) do
    if stored[name] ~= value then return 0 end
    count = count + 1
  end
  for _ in pairs(stored) do count = count - 1 end
  if count ~= 0 then return 0 end
end
if previous and type(previous.u) == 'string' then
  redis.call('SREM', ARGV[5] .. previous.u, KEYS[1])
end
local pxat = tonumber(ARGV[3])
if pxat then
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  if pxat <= now then
    redis.call('DEL', KEYS[1])
    return 1
  end
  redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
if ARGV[4] == '1' then
  local existed = redis.call('EXISTS', KEYS[2])
  redis.call('SADD', KEYS[2], KEYS[1])
  if pxat then
    if existed == 0 then
      redis.call('PEXPIREAT', KEYS[2], ARGV[3])
    else
      redis.call('PEXPIREAT', KEYS[2], ARGV[3], 'GT')
    end
  else
    redis.call('PERSIST', KEYS[2])
  end
end
return 1
`

/** delete: KEYS[1] the full key; ARGV[1] the index prefix. 1 when there was a value. */
const DELETE_SCRIPT = `
local old = redis.call('GET', KEYS[1])
if not old then return 0 end
local previous = cjson.decode(old)
if type(previous.u) == 'string' then
  redis.call('SREM', ARGV[1] .. previous.u, KEYS[1])
end
redis.call('DEL', KEYS[1])
return 1
`

/** A Lua script and its SHA-1 (for EVALSHA). */
export interface Script {
  readonly source: string
  readonly sha: string
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source, 'utf8').digest('hex') }
}

/** set, setIfAbsent and compareAndSet. */
export const WRITE = script(WRITE_SCRIPT)
/** delete. */
export const DELETE = script(DELETE_SCRIPT)
