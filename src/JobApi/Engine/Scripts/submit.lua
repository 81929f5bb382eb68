-- Creates a job with its shards queued, unless it exists already (an idempotent retry). A job with a delay,
-- a runAt or dependencies starts 'waiting' (its shards are listed but no worker leases it); the scheduler
-- queues it when it is due (promote.lua).
-- ARGV: 1 kind, 2 total, 3 maxAttempts, 4 mergeContext, 5 bodyHash, 6 uniform payload ('' when per shard),
--       7 delayMs ('0' when none), 8 runAtMs ('' when none), 9 '1' when it depends on other jobs,
--       10 n = pairs of extra job hash fields, 11..10+2n those pairs, then the payloads.
-- Returns {1, createdAt, state, runAt ('' when none)} when created, {0, state} when the job existed.
local existing = redis.call('HGET', K.job, 'state')
if existing then return { 0, existing } end
local total = tonumber(ARGV[2])
local now, now_s = now_ms_and_string()
local delay, run_at, deps = tonumber(ARGV[7]), ARGV[8], ARGV[9] == '1'
local state = 'queued'
if delay > 0 then run_at = now + delay end
if run_at ~= '' or deps then state = 'waiting' end
local hash = { 'kind', ARGV[1], 'state', state, 'total', ARGV[2], 'attempts', '0', 'commits', '0', 'fence', '0',
  'maxAttempts', ARGV[3], 'context', ARGV[4], 'bodyHash', ARGV[5], 'createdAt', now_s }
if run_at ~= '' then hash[#hash + 1] = 'runAt'; hash[#hash + 1] = run_at end
if ARGV[6] ~= '' then hash[#hash + 1] = 'payload'; hash[#hash + 1] = ARGV[6] end
local extra = tonumber(ARGV[10])
for i = 11, 10 + 2 * extra do hash[#hash + 1] = ARGV[i] end
-- A one-shard job whose payload is in the job hash keeps its ready shard there too (field ready = '0', read by its
-- first lease, which is a hold: see common.lua): no ready list is made for it, and none is left to delete.
local in_hash = total == 1 and ARGV[6] ~= ''
if in_hash then hash[#hash + 1] = 'ready'; hash[#hash + 1] = '0' end
redis.call('HSET', K.job, unpack(hash))
if in_hash then return { 1, now, state, run_at } end
local base = 11 + 2 * extra
for start = 0, total - 1, CHUNK do
  local stop = math.min(start + CHUNK, total) - 1
  local idx, fields = {}, {}
  for i = start, stop do
    idx[#idx + 1] = i
    if ARGV[6] == '' then
      fields[#fields + 1] = i
      fields[#fields + 1] = ARGV[base + i]
    end
  end
  redis.call('RPUSH', K.ready, unpack(idx))
  if #fields > 0 then redis.call('HSET', K.payloads, unpack(fields)) end
end
return { 1, now, state, run_at }
