-- Creates a job with its shards queued, unless it exists already (an idempotent retry).
-- ARGV: 1 kind, 2 total, 3 maxAttempts, 4 mergeContext, 5 bodyHash, 6 retentionMs (unused until finished), 7.. payloads
-- Returns {1, createdAt} when created, {0, state} when the job existed.
local existing = redis.call('HGET', K_JOB, 'state')
if existing then return { 0, existing } end
local total = tonumber(ARGV[2])
local now = now_ms()
redis.call('HSET', K_JOB, 'kind', ARGV[1], 'state', 'queued', 'total', total, 'running', 0, 'succeeded', 0,
  'failed', 0, 'attempts', 0, 'commits', 0, 'maxAttempts', ARGV[3], 'context', ARGV[4], 'bodyHash', ARGV[5],
  'createdAt', now)
-- unpack() is limited by the Lua stack, so large jobs are written in chunks.
local chunk = 1000
for start = 0, total - 1, chunk do
  local stop = math.min(start + chunk, total) - 1
  local idx, fields = {}, {}
  for i = start, stop do
    idx[#idx + 1] = i
    fields[#fields + 1] = i
    fields[#fields + 1] = ARGV[7 + i]
  end
  redis.call('RPUSH', K_READY, unpack(idx))
  redis.call('HSET', K_PAYLOADS, unpack(fields))
end
return { 1, now }
