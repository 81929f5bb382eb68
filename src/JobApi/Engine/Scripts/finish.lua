-- Stores the merged result if the caller holds the merge lease; the job succeeds exactly once.
-- ARGV: 1 mergeToken, 2 result, 3 retentionMs, 4 eventsChannel, 5 jobId
-- Returns {'ok'} | {'stale'} | {'final', state}
local state = redis.call('HGET', K_JOB, 'state')
if not state then return { 'final', 'gone' } end
if is_final(state) then return { 'final', state } end
if redis.call('GET', K_MERGE) ~= ARGV[1] then return { 'stale' } end
redis.call('SET', K_RESULT, ARGV[2])
finish_job('succeeded', nil, now_ms(), tonumber(ARGV[3]), ARGV[4], ARGV[5])
return { 'ok' }
