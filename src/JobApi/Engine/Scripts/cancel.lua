-- Cancels an unfinished job: queued shards are dropped at once, commits are refused from now on, and
-- the published event tells workers to stop the running ones. A finished job is left as it is.
-- ARGV: 1 retentionMs, 2 eventsChannel, 3 jobId
-- Returns the job's state afterwards, or false when there is no such job.
local state = redis.call('HGET', K.job, 'state')
if not state then return false end
if is_final(state) then return state end
finish_job('canceled', nil, now_ms(), tonumber(ARGV[1]), ARGV[2], ARGV[3])
return 'canceled'
