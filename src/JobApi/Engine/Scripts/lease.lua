-- Hands up to ARGV[4] ready shards of one job to a worker under ONE lease: fence f = the job's fence
-- counter + 1, lease key 'lease:f' = token (SET PX ttl), deadline in K.running, each shard's inflight
-- entry = f. The first lease of a one-shard job is a hold instead (see common.lua): the same lease kept in
-- the job hash, written with the job's own HSET. Before that it reaps: shards of leases whose key is gone
-- (worker died, or stalled past its TTL) and a hold past its deadline count as a failed attempt; due
-- retries become ready. When every shard has succeeded and nobody holds the merge lease, the caller gets
-- the merge.
-- ARGV: 1 workerId, 2 token, 3 ttlMs, 4 maxCount, 5 backoffBaseMs, 6 jitter, 7 retentionMs, 8 eventsChannel, 9 jobId
-- Returns {'gone'} | {'final', state} | {'merge'} | {'idle'}
--       | {'ok', kind, fence, total, startedAt, mergeContext (only when the lease holds every shard, else ''), index1, attempt1, payload1, ...}
local h = redis.call('HMGET', K.job, 'state', 'total', 'kind', 'payload', 'context', 'fence', 'attempts',
  'hold', 'holdUntil', 'holdBy', 'ready')
local state = h[1]
if not state then return { 'gone' } end
if is_final(state) then return { 'final', state } end
-- A waiting job is out of rotation until the scheduler queues it (and puts it back).
if state == 'waiting' then return { 'final', state } end
-- The first lease of a one-shard job whose ready shard is in its hash (submit.lua), the common case of a stream of
-- small jobs: a hold, with nothing to reap and no retry due (fence 0). What the general path below does for such a
-- job, without its reads and tables: a quarter of this script's cost per job.
if h[11] == '0' and h[6] == '0' and state == 'queued' and h[2] == '1' and h[4] then
  local now = take_hold(ARGV[1], ARGV[2], ARGV[3], (tonumber(h[7]) or 0) + 1)
  return { 'ok', h[3], 1, 1, now, h[5] or '', '0', 1, h[4] }
end
local worker, token, ttl, max_count = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local base, jitter, retention, channel, job_id = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], ARGV[9]
local total, fence = tonumber(h[2]), tonumber(h[6]) or 0
local now, now_s = now_ms_and_string()
-- What this call writes to the job hash, in one HSET at the end: seenAt, and the start when the job was queued
-- (the safety sweep, LeaseReaper, puts a job back into rotation when no worker has looked at it for a while).
local seen = { 'seenAt', now_s }
if state == 'queued' then
  seen[#seen + 1] = 'state'; seen[#seen + 1] = 'running'
  seen[#seen + 1] = 'startedAt'; seen[#seen + 1] = now_s
end
-- A job never leased (fence 0) has no lease to reap, no retry due and no failed attempt: its first lease skips
-- those reads.
local fresh = fence == 0

-- Reap a hold past its deadline (its worker died or stalled: renewals move the deadline).
if held(h[8]) and tonumber(h[9]) <= now then
  seen[#seen + 1] = 'hold'; seen[#seen + 1] = ''
  local w = string.match(h[10] or '', '^([^|]*)')
  local err = 'lease expired: worker ' .. tostring(w) .. ' stopped renewing it'
  if fail_attempt('0', err, now, base, jitter, retention, channel, job_id) == 'dead' then
    return { 'final', 'failed' }
  end
end

-- Reap expired leases.
for _, f in ipairs(fresh and {} or redis.call('ZRANGEBYSCORE', K.running, '-inf', now_s, 'LIMIT', 0, 20)) do
  local lease = lease_key(f)
  local pttl = redis.call('PTTL', lease)
  if pttl > 0 then
    redis.call('ZADD', K.running, now + pttl, f)
  else
    local rec = redis.call('HGET', K.batches, f) or '?||'
    local w, _, csv = string.match(rec, '^([^|]*)|([^|]*)|(.*)$')
    redis.call('HDEL', K.batches, f, 'n:' .. f)
    redis.call('ZREM', K.running, f)
    for _, i in ipairs(split_indexes(csv or '')) do
      if redis.call('HGET', K.inflight, i) == f then
        redis.call('HDEL', K.inflight, i)
        if fail_attempt(i, 'lease expired: worker ' .. tostring(w) .. ' stopped renewing it', now, base, jitter, retention, channel, job_id) == 'dead' then
          return { 'final', 'failed' }
        end
      end
    end
  end
end

-- Due retries go to the front of the queue.
local due = fresh and {} or redis.call('ZRANGEBYSCORE', K.delayed, '-inf', now_s, 'LIMIT', 0, 1000)
if #due > 0 then
  chunked('ZREM', K.delayed, due)
  chunked('LPUSH', K.ready, due)
end

-- A job never leased whose ready shard is in its hash (submit.lua): that shard, and no ready list to pop. The field
-- stays: only a lease of fence 0 reads it.
local popped = (fresh and h[11] == '0') and { '0' } or redis.call('LPOP', K.ready, max_count)
if not popped then
  redis.call('HSET', K.job, unpack(seen))
  if redis.call('HLEN', K.done) == total and redis.call('SET', K.merge, token, 'NX', 'PX', ARGV[3]) then
    return { 'merge' }
  end
  return { 'idle' }
end

local f = tostring(fence + 1)
seen[#seen + 1] = 'fence'; seen[#seen + 1] = f
seen[#seen + 1] = 'attempts'; seen[#seen + 1] = (tonumber(h[7]) or 0) + #popped
if fresh and total == 1 and h[4] then
  -- A hold: the lease, its deadline and its record go into the job hash with the rest.
  for _, v in ipairs({ 'hold', f, 'holdToken', token, 'holdUntil', now + ttl, 'holdBy', worker .. '|' .. now_s }) do
    seen[#seen + 1] = v
  end
  redis.call('HSET', K.job, unpack(seen))
else
  redis.call('HSET', K.job, unpack(seen))
  redis.call('SET', lease_key(f), token, 'PX', ARGV[3])
  redis.call('ZADD', K.running, now + ttl, f)
  redis.call('HSET', K.batches, f, worker .. '|' .. now_s .. '|' .. table.concat(popped, ','), 'n:' .. f, #popped)
  local fields = {}
  for _, i in ipairs(popped) do
    fields[#fields + 1] = i
    fields[#fields + 1] = f
  end
  chunked('HSET', K.inflight, fields)
end

local fails = fresh and {} or redis.call('HMGET', K.failures, unpack(popped))
local payloads = h[4] and {} or redis.call('HMGET', K.payloads, unpack(popped))
local out = { 'ok', h[3], fence + 1, total, now, (#popped == total) and h[5] or '' }
for k, i in ipairs(popped) do
  out[#out + 1] = i
  out[#out + 1] = (fails[k] and tonumber(string.match(fails[k], '^(%d+)')) or 0) + 1
  out[#out + 1] = h[4] or payloads[k] or ''
end
return out
