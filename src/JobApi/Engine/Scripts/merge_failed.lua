-- The merge threw (not a Redis error: a kind's merge that fails once fails again): if the caller still
-- holds the merge lease, the job fails with the merge's error instead of being merged again forever.
-- KEYS[14]: the merge's items staging list (dropped).
-- ARGV: 1 mergeToken, 2 error, 3 retentionMs, 4 eventsChannel, 5 jobId
-- Returns {'failed'} | {'stale'} | {'final', state}
local state = redis.call('HGET', K.job, 'state')
if not state then return { 'final', 'gone' } end
if is_final(state) then return { 'final', state } end
if redis.call('GET', K.merge) ~= ARGV[1] then return { 'stale' } end
redis.call('DEL', KEYS[14])
finish_job('failed', 'merge failed: ' .. ARGV[2], now_ms(), tonumber(ARGV[3]), ARGV[4], ARGV[5])
return { 'failed' }
