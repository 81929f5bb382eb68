-- Fails a job that has been running longer than its timeoutSeconds (field timeoutMs, counted from startedAt,
-- or from retriedAt once a failed job was retried).
-- ARGV: 1 retentionMs, 2 eventsChannel, 3 jobId
-- Returns {'failed'} | {'later', when to look again (ms)} | {'done'} (finished, gone or without a timeout)
local h = redis.call('HMGET', K.job, 'state', 'startedAt', 'timeoutMs', 'retriedAt')
if not h[1] or is_final(h[1]) or not h[3] then return { 'done' } end
local now, limit = now_ms(), tonumber(h[3])
if not h[2] then return { 'later', now + limit } end
local deadline = math.max(tonumber(h[2]), tonumber(h[4] or '0')) + limit
if now < deadline then return { 'later', deadline } end
finish_job('failed', 'timed out: the job ran longer than its timeoutSeconds (' .. math.floor(limit / 1000) .. ' s)',
  now, tonumber(ARGV[1]), ARGV[2], ARGV[3])
return { 'failed' }
