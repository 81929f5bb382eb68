-- Leases up to ARGV[4] shards of one job to a worker. Before that it reaps: shards whose lease key is
-- gone (worker died or stalled past its TTL) count as a failed attempt; due retries become ready.
-- When every shard has succeeded and nobody holds the merge lease, the caller gets the merge.
-- ARGV: 1 workerId, 2 token, 3 ttlMs, 4 maxCount, 5 backoffBaseMs, 6 jitter, 7 retentionMs, 8 eventsChannel, 9 jobId
-- Returns {'gone'} | {'final', state} | {'merge'} | {'idle'} | {'ok', kind, index, attempt, fence, payload, ...}
local state = redis.call('HGET', K_JOB, 'state')
if not state then return { 'gone' } end
if is_final(state) then return { 'final', state } end
local worker, token, ttl, max_count = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local base, jitter, retention, channel, job_id = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], ARGV[9]
local now = now_ms()
-- The safety sweep (LeaseReaper) puts a job back into rotation when no worker has looked at it for a while.
redis.call('HSET', K_JOB, 'seenAt', now)

-- Reap expired leases.
local expired = redis.call('ZRANGEBYSCORE', K_RUNNING, '-inf', now, 'LIMIT', 0, 100)
for _, i in ipairs(expired) do
  local pttl = redis.call('PTTL', lease_key(i))
  if pttl > 0 then
    redis.call('ZADD', K_RUNNING, now + pttl, i)
  else
    local rec = get_shard(i)
    if fail_attempt(i, rec, 'lease expired: the worker ' .. tostring(rec.w) .. ' stopped renewing it', now, base, jitter, retention, channel, job_id) == 'dead' then
      return { 'final', 'failed' }
    end
  end
end

-- Due retries go to the front of the queue.
local due = redis.call('ZRANGEBYSCORE', K_DELAYED, '-inf', now, 'LIMIT', 0, 1000)
if #due > 0 then
  redis.call('ZREM', K_DELAYED, unpack(due))
  redis.call('LPUSH', K_READY, unpack(due))
end

local h = redis.call('HMGET', K_JOB, 'total', 'succeeded')
if tonumber(h[2]) == tonumber(h[1]) then
  if redis.call('SET', K_MERGE, token, 'NX', 'PX', ttl) then return { 'merge' } end
  return { 'idle' }
end

local popped = redis.call('LPOP', K_READY, max_count)
if not popped then return { 'idle' } end
local out = { 'ok', redis.call('HGET', K_JOB, 'kind') }
for _, i in ipairs(popped) do
  local rec = get_shard(i)
  rec.s, rec.a, rec.f, rec.w, rec.st, rec.ft = 'running', rec.a + 1, rec.f + 1, worker, now, nil
  put_shard(i, rec)
  redis.call('SET', lease_key(i), token .. ':' .. rec.f, 'PX', ttl)
  redis.call('ZADD', K_RUNNING, now + ttl, i)
  out[#out + 1] = i
  out[#out + 1] = rec.a
  out[#out + 1] = rec.f
  out[#out + 1] = redis.call('HGET', K_PAYLOADS, i) or ''
end
redis.call('HINCRBY', K_JOB, 'running', #popped)
redis.call('HINCRBY', K_JOB, 'attempts', #popped)
if state == 'queued' then redis.call('HSET', K_JOB, 'state', 'running', 'startedAt', now) end
return out
