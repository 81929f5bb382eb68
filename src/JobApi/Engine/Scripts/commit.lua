-- Commits one shard's result if, and only if, the caller still holds its lease with the current fence.
-- The commit that makes every shard succeeded also takes the merge lease, so exactly one caller merges.
-- KEYS[11]: the shard's lease key. ARGV: 1 index, 2 token, 3 fence, 4 result, 5 ttlMs
-- Returns {'ok'} | {'merge'} | {'stale'} | {'final', state}
local i, token, fence = ARGV[1], ARGV[2], tonumber(ARGV[3])
local state = redis.call('HGET', K_JOB, 'state')
if not state then return { 'final', 'gone' } end
if is_final(state) then return { 'final', state } end
if redis.call('GET', KEYS[11]) ~= token .. ':' .. fence then return { 'stale' } end
local rec = get_shard(i)
if rec.s ~= 'running' or rec.f ~= fence then return { 'stale' } end

local now = now_ms()
rec.s, rec.ft, rec.e = 'succeeded', now, nil
put_shard(i, rec)
redis.call('HSET', K_RESULTS, i, ARGV[4])
redis.call('DEL', KEYS[11])
redis.call('ZREM', K_RUNNING, i)
redis.call('HINCRBY', K_JOB, 'running', -1)
redis.call('HINCRBY', K_JOB, 'commits', 1)
local succeeded = redis.call('HINCRBY', K_JOB, 'succeeded', 1)
if succeeded == tonumber(redis.call('HGET', K_JOB, 'total')) then
  if redis.call('SET', K_MERGE, token, 'NX', 'PX', tonumber(ARGV[5])) then return { 'merge' } end
end
return { 'ok' }
