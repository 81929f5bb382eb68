-- Records a failed attempt of a shard the caller still holds: retry with backoff, or dead-letter it
-- and fail the job at maxAttempts.
-- KEYS[11]: the shard's lease key. ARGV: 1 index, 2 token, 3 fence, 4 error, 5 backoffBaseMs, 6 jitter, 7 retentionMs, 8 eventsChannel, 9 jobId
-- Returns {'retry'} | {'dead'} | {'stale'} | {'final', state}
local i, token, fence = ARGV[1], ARGV[2], tonumber(ARGV[3])
local state = redis.call('HGET', K_JOB, 'state')
if not state then return { 'final', 'gone' } end
if is_final(state) then return { 'final', state } end
if redis.call('GET', KEYS[11]) ~= token .. ':' .. fence then return { 'stale' } end
local rec = get_shard(i)
if rec.s ~= 'running' or rec.f ~= fence then return { 'stale' } end
redis.call('DEL', KEYS[11])
return { fail_attempt(i, rec, ARGV[4], now_ms(), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], ARGV[9]) }
