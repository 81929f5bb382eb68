-- Prepended to every job script. KEYS[1..10] are always the job's data keys, in this order
-- (RedisKeys.JobKeys.DataKeys); per-shard lease keys, when a script needs them, follow from KEYS[11].
-- Scripts check every precondition first and write last: Lua has no rollback.
local K_JOB, K_READY, K_DELAYED, K_RUNNING, K_SHARDS, K_PAYLOADS, K_RESULTS, K_RESULT, K_MERGE, K_DEAD =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local DATA_KEYS = 10

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function is_final(state)
  return state == 'succeeded' or state == 'failed' or state == 'canceled'
end

-- A shard never touched has no record: it is queued with no attempts.
local function get_shard(i)
  local raw = redis.call('HGET', K_SHARDS, i)
  if raw then return cjson.decode(raw) end
  return { s = 'queued', a = 0, f = 0 }
end

local function put_shard(i, rec)
  redis.call('HSET', K_SHARDS, i, cjson.encode(rec))
end

-- The lease key of shard i, in the job's slot (same hash tag as K_JOB).
local function lease_key(i)
  return string.sub(K_JOB, 1, #K_JOB - 3) .. 'lease:' .. i
end

-- Exponential backoff with the caller's jitter factor in [0, 1): base * 2^(attempt-1) * (0.5 .. 1.5), capped at 5 minutes.
local function backoff_ms(base, attempt, jitter)
  local d = base * (2 ^ math.min(attempt - 1, 20)) * (0.5 + jitter)
  return math.floor(math.min(d, 300000))
end

-- Moves the job to a final state: stops queued work, drops data nobody needs any more, starts retention.
local function finish_job(state, err, now, retention_ms, channel, job_id)
  redis.call('HSET', K_JOB, 'state', state, 'finishedAt', now)
  if err then redis.call('HSET', K_JOB, 'error', err) end
  redis.call('DEL', K_READY, K_DELAYED, K_MERGE)
  -- A failed job keeps payloads and committed results so that its dead shards can be retried.
  if state ~= 'failed' then redis.call('DEL', K_PAYLOADS, K_RESULTS) end
  for i = 1, DATA_KEYS do redis.call('PEXPIRE', KEYS[i], retention_ms) end
  redis.call('PUBLISH', channel, job_id)
end

-- A shard attempt ended without a result (it threw, or its worker vanished). Retries with backoff
-- below maxAttempts, otherwise dead-letters the shard and fails the job. Returns 'retry' or 'dead'.
local function fail_attempt(i, rec, err, now, base, jitter, retention_ms, channel, job_id)
  redis.call('ZREM', K_RUNNING, i)
  redis.call('HINCRBY', K_JOB, 'running', -1)
  rec.e = err
  rec.ft = now
  local max_attempts = tonumber(redis.call('HGET', K_JOB, 'maxAttempts'))
  if rec.a >= max_attempts then
    rec.s = 'failed'
    put_shard(i, rec)
    redis.call('HINCRBY', K_JOB, 'failed', 1)
    redis.call('SADD', K_DEAD, i)
    finish_job('failed', 'shard ' .. i .. ' failed after ' .. rec.a .. ' attempt(s): ' .. err, now, retention_ms, channel, job_id)
    return 'dead'
  end
  rec.s = 'queued'
  put_shard(i, rec)
  redis.call('ZADD', K_DELAYED, now + backoff_ms(base, rec.a, jitter), i)
  return 'retry'
end
