-- Prepended to every job script. The job's data keys are K.job, K.ready, K.delayed, K.running, K.inflight,
-- K.batches, K.payloads, K.results, K.done, K.failures, K.dead, K.result and K.merge (RedisKeys.JobKeys.DataKeys, the
-- same names). A script called for one job gets them as KEYS[1..13], in that order, and lease keys, when it needs
-- them, from KEYS[14]; many.lua makes each from the job's key base instead, when first used.
-- Scripts check every precondition first and write last: Lua has no rollback.
local DATA = { 'job', 'ready', 'delayed', 'running', 'inflight', 'batches', 'payloads', 'results', 'done', 'failures',
  'dead', 'result', 'merge' }
local DATA_KEYS = #DATA
local K = {}
for i, name in ipairs(DATA) do K[name] = KEYS[i] end
local CHUNK = 500 -- unpack() is limited by the Lua stack: big variadic calls go in chunks

-- Now in ms, as a number and as its decimal string. The string is cut from TIME's own strings: a Lua number passed to
-- redis.call is formatted by printf, which costs about as much as a simple command (some 0.5 us here), so the hot
-- scripts hand Redis strings where they have them (now, the fence, the TTL and retention from ARGV).
-- Read once per script call: a script runs atomically, so everything it does happens at one moment, and a call that
-- carries several jobs (many.lua) asks Redis for the time once instead of once per job.
local clock_ms, clock_s
local function now_ms_and_string()
  if not clock_ms then
    local t = redis.call('TIME')
    local us = string.rep('0', 6 - #t[2]) .. t[2]
    clock_ms, clock_s = tonumber(t[1]) * 1000 + tonumber(string.sub(us, 1, 3)), t[1] .. string.sub(us, 1, 3)
  end
  return clock_ms, clock_s
end

-- Now in ms (one value: safe as the last argument of a call).
local function now_ms()
  return (now_ms_and_string())
end

local function is_final(state)
  return state == 'succeeded' or state == 'failed' or state == 'canceled'
end

-- A hold is the first lease of a one-shard job whose payload is in the job hash, kept in the job hash instead of the
-- lease keys: field hold = its fence f ('' or absent when none), holdToken = the worker's token (the lease key's
-- value), holdUntil = its deadline in ms (the lease key's TTL and the K.running score), holdBy = 'worker|startedAt'
-- (the K.batches record). Its one shard, 0, has no inflight entry: shard 0 of a job with a hold is in flight under
-- fence hold. The lease writes it with the job's own HSET and the commit reads it with the job's own HMGET, and a
-- job that succeeds under it has no other key to delete, so the job's whole life costs seven commands fewer; every
-- script that checks, renews, reaps, releases or counts a lease knows both forms.
local function held(hold)
  return hold ~= nil and hold ~= false and hold ~= ''
end

-- Takes the first lease of a one-shard job as a hold (fence 1), for a job queued and never leased: the one HSET that
-- also marks it running. attempts is the job's new attempt count. Returns now (ms), the hold's start.
local function take_hold(worker, token, ttl_ms, attempts)
  local now, now_s = now_ms_and_string()
  redis.call('HSET', K.job, 'seenAt', now_s, 'state', 'running', 'startedAt', now_s, 'fence', '1', 'attempts', attempts,
    'hold', '1', 'holdToken', token, 'holdUntil', now + tonumber(ttl_ms), 'holdBy', worker .. '|' .. now_s)
  return now
end

-- The lease key of fence f, in the job's slot (same hash tag as K.job).
local function lease_key(f)
  return string.sub(K.job, 1, #K.job - 3) .. 'lease:' .. f
end

-- Calls cmd(key, ...) with the items of list in chunks.
local function chunked(cmd, key, list)
  for s = 1, #list, CHUNK do
    redis.call(cmd, key, unpack(list, s, math.min(s + CHUNK - 1, #list)))
  end
end

local function split_indexes(csv)
  local out = {}
  for i in string.gmatch(csv, '[^,]+') do out[#out + 1] = i end
  return out
end

-- Exponential backoff with the caller's jitter factor in [0, 1): base * 2^(n-1) * (0.5 .. 1.5), capped at 5 minutes.
local function backoff_ms(base, n, jitter)
  return math.floor(math.min(base * (2 ^ math.min(n - 1, 20)) * (0.5 + jitter), 300000))
end

-- Moves the job to a final state: stops queued and running work, drops data nobody needs, starts retention.
-- A job's own retainSeconds (field retainMs) overrides the configured retention.
-- The final event is the job id, followed by '|' and flags when the end makes other work due: 'd' the job has
-- dependents, 'w' it has a webhook (see FinalEvent); nodes act on a finished job only when a flag says so, or when it
-- did not succeed (workers stop its shards). On the events channel a succeeded job's short whole result follows,
-- after a second '|' (flags may be empty); the follow-up channel never carries it.
-- opts (optional), folded into the calls this makes anyway: fields = more job hash fields to set, lease = a lease
-- key to delete, bare = true when the job succeeds under its hold with nothing queued, running or merging (and no
-- done record), result = the result to store, whole = true when that result is the whole result (no items list),
-- clean = true when no attempt of the job ever failed (it has no
-- failure or dead-letter key to give a retention), own = the job's FINISH_FIELDS when the caller read them already
-- (in its own HMGET). now and retention_ms may be numbers or their strings. A hold ends with the job.
local INLINE_RESULT = 64
-- The longest result a final event carries (every API node receives every final event).
local EVENT_RESULT = 256
local FINISH_FIELDS = { 'retainMs', 'dependents', 'callbackUrl', 'finals', 'hold' }
-- The final events of a call that runs for several jobs (many.lua sets EVENTS to a table) are published together
-- when it ends: one message per channel for all its jobs, in order, separated by the record separator (\30), which
-- no job id, flag or JSON result holds (JSON escapes every control character; FinalEvent.ParseAll splits on it).
-- Subscribers act on an event only after the script has ended either way, so they see no difference but the count.
local EVENTS
local function publish(channel, message)
  if not EVENTS then
    redis.call('PUBLISH', channel, message)
    return
  end
  local list = EVENTS[channel]
  if not list then
    list = {}
    EVENTS[channel] = list
    EVENTS[#EVENTS + 1] = channel
  end
  list[#list + 1] = message
end
local function finish_job(state, err, now, retention_ms, channel, job_id, opts)
  opts = opts or {}
  local own = opts.own or redis.call('HMGET', K.job, unpack(FINISH_FIELDS))
  retention_ms = own[1] or retention_ms
  local flags = (own[2] and 'd' or '') .. (own[3] and 'w' or '')
  -- finals is part of the events stream's sequence (JobStatus.Sequence)
  local fields = { 'state', state, 'finishedAt', now, 'finals', (tonumber(own[4]) or 0) + 1 }
  if err then fields[#fields + 1] = 'error'; fields[#fields + 1] = err end
  if held(own[5]) then fields[#fields + 1] = 'hold'; fields[#fields + 1] = '' end
  for _, v in ipairs(opts.fields or {}) do fields[#fields + 1] = v end
  -- A short result of a job that ends under its hold goes into the job hash (field result) instead of a key of its
  -- own: one write and one expiry fewer. Short enough to keep the hash in Redis's compact encoding
  -- (hash-max-listpack-value, 64 bytes by default); JobStore reads the key first, then the field.
  local inline = opts.bare and opts.result and #opts.result <= INLINE_RESULT
  if inline then fields[#fields + 1] = 'result'; fields[#fields + 1] = opts.result end
  redis.call('HSET', K.job, unpack(fields))
  -- A job that ends under its hold (opts.bare) has none of these keys: its one shard was ready in the job hash (or
  -- left the ready list, which Redis deletes when it empties), and the hold stands for the lease keys.
  if not opts.bare then
    local gone = { K.ready, K.delayed, K.running, K.inflight, K.batches, K.merge }
    -- A failed job keeps payloads and committed results so that its dead shards can be retried.
    if state == 'failed' then
      for _, k in ipairs({ K.payloads, K.results }) do redis.call('PEXPIRE', k, retention_ms) end
    else
      gone[#gone + 1] = K.payloads; gone[#gone + 1] = K.results
    end
    if opts.lease then gone[#gone + 1] = opts.lease end
    redis.call('DEL', unpack(gone))
  end
  -- What is left: the job, per-shard history (none for a job that ends under its hold) and the result; they go
  -- when the retention ends.
  local kept = { K.job }
  if not opts.bare then kept[#kept + 1] = K.done end
  if not opts.clean then kept[#kept + 1] = K.failures; kept[#kept + 1] = K.dead end
  if not opts.result then
    kept[#kept + 1] = K.result
  elseif not inline then
    redis.call('SET', K.result, opts.result, 'PX', retention_ms)
  end
  for _, k in ipairs(kept) do redis.call('PEXPIRE', k, retention_ms) end
  local event = flags == '' and job_id or (job_id .. '|' .. flags)
  -- A short result that is the whole result (opts.whole: no items list) rides on the final event, so that a request
  -- waiting for it answers without reading it back (FinalEvent.Result): id|flags|result.
  if state == 'succeeded' and opts.whole and opts.result and #opts.result <= EVENT_RESULT then
    publish(channel, job_id .. '|' .. flags .. '|' .. opts.result)
  else
    publish(channel, event)
  end
  -- The nodes' follow-up channel (RedisKeys.FollowUpChannel, the events channel + ':follow-up') gets the event too
  -- only when the end leaves them something to do: dependents or a webhook, or shards to stop (any end other than
  -- success). A job that simply succeeded costs the workers and schedulers no message.
  if flags ~= '' or state ~= 'succeeded' then publish(channel .. ':follow-up', event) end
end

-- Failed attempts of shard i so far.
local function failures_of(i)
  local raw = redis.call('HGET', K.failures, i)
  if not raw then return 0 end
  return tonumber(string.match(raw, '^(%d+)'))
end

-- A shard attempt ended without a result (it threw, or its lease ran out). The caller has already removed
-- it from inflight. Retries with backoff below maxAttempts, otherwise dead-letters it and fails the job.
-- Returns 'retry' or 'dead'.
local function fail_attempt(i, err, now, base, jitter, retention_ms, channel, job_id)
  local n = failures_of(i) + 1
  redis.call('HSET', K.failures, i, n .. '|' .. err)
  local limit = redis.call('HMGET', K.job, 'attemptLimit', 'maxAttempts') -- attemptLimit: raised by retry.lua
  if n >= tonumber(limit[1] or limit[2]) then
    redis.call('SADD', K.dead, i)
    finish_job('failed', 'shard ' .. i .. ' failed after ' .. n .. ' attempt(s): ' .. err, now, retention_ms, channel, job_id)
    return 'dead'
  end
  redis.call('ZADD', K.delayed, now + backoff_ms(base, n, jitter), i)
  return 'retry'
end

-- K.batches holds, per lease fence f: field f = 'worker|startedAt|i1,i2,...' and field 'n:f' = shards of it still in flight.
-- Counts k shards of lease f as settled; forgets the lease when none is left.
local function settle(f, k, lease)
  if k == 0 then return end
  if redis.call('HINCRBY', K.batches, 'n:' .. f, -k) <= 0 then
    redis.call('HDEL', K.batches, f, 'n:' .. f)
    redis.call('ZREM', K.running, f)
    redis.call('DEL', lease)
  end
end
