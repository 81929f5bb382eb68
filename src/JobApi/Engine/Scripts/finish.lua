-- Stores the merged result if the caller holds the merge lease; the job succeeds exactly once.
-- KEYS[14]: the merge's items staging list, KEYS[15]: the result items list (which gets the job's retention).
-- ARGV: 1 mergeToken, 2 result, 3 retentionMs, 4 eventsChannel, 5 jobId, 6 item count ('' when the result has no items)
-- Returns {'ok'} | {'stale'} | {'final', state}
local state = redis.call('HGET', K.job, 'state')
if not state then return { 'final', 'gone' } end
if is_final(state) then return { 'final', state } end
if redis.call('GET', K.merge) ~= ARGV[1] then return { 'stale' } end
if ARGV[6] ~= '' then
  redis.call('DEL', KEYS[15])
  if redis.call('EXISTS', KEYS[14]) == 1 then
    redis.call('RENAME', KEYS[14], KEYS[15])
    redis.call('PEXPIRE', KEYS[15], tonumber(redis.call('HGET', K.job, 'retainMs') or ARGV[3]))
  end
  redis.call('HSET', K.job, 'items', ARGV[6])
end
finish_job('succeeded', nil, now_ms(), tonumber(ARGV[3]), ARGV[4], ARGV[5], { result = ARGV[2] })
return { 'ok' }
