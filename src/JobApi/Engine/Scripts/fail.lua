-- Records a failed attempt of a shard the caller holds under lease f: retry with backoff, or dead-letter
-- it and fail the job at maxAttempts.
-- KEYS[14]: lease key of f. ARGV: 1 fence, 2 token, 3 index, 4 error, 5 backoffBaseMs, 6 jitter, 7 retentionMs, 8 eventsChannel, 9 jobId
-- Returns {'retry'} | {'dead'} | {'stale'} | {'final', state}
local f, token, i = ARGV[1], ARGV[2], ARGV[3]
local h = redis.call('HMGET', K.job, 'state', 'hold', 'holdToken')
local state = h[1]
if not state then return { 'final', 'gone' } end
if is_final(state) then return { 'final', state } end
if h[2] == f then
  -- A hold (common.lua) of shard 0: it ends here.
  if h[3] ~= token or i ~= '0' then return { 'stale' } end
  redis.call('HSET', K.job, 'hold', '')
else
  if redis.call('GET', KEYS[14]) ~= token or redis.call('HGET', K.inflight, i) ~= f then return { 'stale' } end
  redis.call('HDEL', K.inflight, i)
  settle(f, 1, KEYS[14])
end
return { fail_attempt(i, ARGV[4], now_ms(), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], ARGV[9]) }
