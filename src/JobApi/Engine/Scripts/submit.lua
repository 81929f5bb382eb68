-- Creates a job with its shards queued, unless it exists already (an idempotent retry).
-- ARGV: 1 kind, 2 total, 3 maxAttempts, 4 mergeContext, 5 bodyHash, 6 uniform payload ('' when per shard), 7.. payloads
-- Returns {1, createdAt} when created, {0, state} when the job existed.
local existing = redis.call('HGET', K_JOB, 'state')
if existing then return { 0, existing } end
local total = tonumber(ARGV[2])
local now = now_ms()
redis.call('HSET', K_JOB, 'kind', ARGV[1], 'state', 'queued', 'total', total, 'attempts', 0, 'commits', 0,
  'fence', 0, 'maxAttempts', ARGV[3], 'context', ARGV[4], 'bodyHash', ARGV[5], 'createdAt', now)
if ARGV[6] ~= '' then redis.call('HSET', K_JOB, 'payload', ARGV[6]) end
for start = 0, total - 1, CHUNK do
  local stop = math.min(start + CHUNK, total) - 1
  local idx, fields = {}, {}
  for i = start, stop do
    idx[#idx + 1] = i
    if ARGV[6] == '' then
      fields[#fields + 1] = i
      fields[#fields + 1] = ARGV[7 + i]
    end
  end
  redis.call('RPUSH', K_READY, unpack(idx))
  if #fields > 0 then redis.call('HSET', K_PAYLOADS, unpack(fields)) end
end
return { 1, now }
