-- Commits results of shards the caller holds under lease f: refused unless the lease key still holds the
-- caller's token and each shard's inflight entry is still f (the fence), so a worker that lost its lease
-- can never commit. The commit that makes every shard succeeded either finishes the job with the result
-- the caller merged itself (when it held every shard) or takes the merge lease, so exactly one merge runs.
-- KEYS[14]: lease key of f (made from K.job when the call comes through many.lua).
-- ARGV: 1 fence, 2 token, 3 worker, 4 startedAt, 5 ttlMs, 6 retentionMs, 7 eventsChannel, 8 jobId,
--       9 merged result ('' when none), 10.. pairs of index, result
-- Returns {'ok', refusedCount} | {'merge', 0} | {'finished', 0} | {'stale', n} | {'final', state}
local f, token = ARGV[1], ARGV[2]
-- The job's fields finish_job needs come in the same read (h[4..8]), for the commit that finishes the job, and so
-- does the hold (h[8], h[9]: a hold of fence f stands for the lease key and shard 0's inflight entry).
local h = redis.call('HMGET', K.job, 'state', 'total', 'commits', 'retainMs', 'dependents', 'callbackUrl', 'finals',
  'hold', 'holdToken')
if not h[1] then return { 'final', 'gone' } end
if is_final(h[1]) then return { 'final', h[1] } end
local hold = h[8] == f
-- A hold has no lease key: made only for a lease that has one.
local lease = KEYS[14] or (not hold and lease_key(f)) or nil
if hold then
  if h[9] ~= token then return { 'stale', (#ARGV - 9) / 2 } end
elseif redis.call('GET', lease) ~= token then
  return { 'stale', (#ARGV - 9) / 2 }
end

-- The hold's one shard, with the result its worker merged: the job ends here. What the general path below does for
-- it, without its tables.
if hold and #ARGV == 11 and ARGV[10] == '0' and ARGV[9] ~= '' and h[2] == '1' then
  local _, now_s = now_ms_and_string()
  finish_job('succeeded', nil, now_s, ARGV[6], ARGV[7], ARGV[8],
    { fields = { 'commits', (tonumber(h[3]) or 0) + 1 }, result = ARGV[9], whole = true, clean = f == '1', bare = true,
      own = { h[4], h[5], h[6], h[7], h[8] } })
  return { 'finished', 0 }
end

local idx = {}
for k = 10, #ARGV, 2 do idx[#idx + 1] = ARGV[k] end
local holders = {}
if hold then
  for k, i in ipairs(idx) do holders[k] = (i == '0') and f or false end
else
  holders = redis.call('HMGET', K.inflight, unpack(idx))
end
local now, now_s = now_ms_and_string()
local meta = ARGV[4] .. '|' .. now_s .. '|' .. ARGV[3]
local results, done, accepted = {}, {}, {}
for k, i in ipairs(idx) do
  if holders[k] == f then
    accepted[#accepted + 1] = i
    results[#results + 1] = i
    results[#results + 1] = ARGV[9 + 2 * k]
    done[#done + 1] = i
    done[#done + 1] = meta
  end
end
local total = tonumber(h[2])
-- The caller held every shard and merged them itself: finish at once (results are not needed any more). When
-- this call brings every shard, nothing was done before it (its lease held them all).
if ARGV[9] ~= '' and #accepted == #idx and (#accepted == total or redis.call('HLEN', K.done) + #accepted == total) then
  -- A job that ends under its hold keeps no done record: its one shard's times and worker are the job's own (holdBy,
  -- finishedAt), and a succeeded job counts every shard as succeeded (status.lua, ShardRecord).
  if not hold then chunked('HSET', K.done, done) end
  -- Lease 1 holding every shard: no attempt of this job ever failed.
  finish_job('succeeded', nil, now_s, ARGV[6], ARGV[7], ARGV[8],
    { fields = { 'commits', (tonumber(h[3]) or 0) + #accepted }, lease = lease, result = ARGV[9], whole = true, clean = f == '1',
      bare = hold, own = { h[4], h[5], h[6], h[7], h[8] } })
  return { 'finished', 0 }
end
if #accepted > 0 then
  chunked('HSET', K.results, results)
  chunked('HSET', K.done, done)
  if hold then
    -- The hold's one shard is in: the hold ends with it.
    redis.call('HSET', K.job, 'commits', (tonumber(h[3]) or 0) + #accepted, 'hold', '')
  else
    chunked('HDEL', K.inflight, accepted)
    redis.call('HINCRBY', K.job, 'commits', #accepted)
  end
end
-- Only the shards this lease still holds settle. A refused one belongs to no live lease of this fence: a fence is
-- handed out twice only when Redis lost the first lease (a failover, an AOF cut short), and the worker that held the
-- lost one commits late under the same number; counting its shards would forget the live lease while its shards run.
if not hold then settle(f, #accepted, lease) end

local refused = #idx - #accepted
if redis.call('HLEN', K.done) == total and redis.call('SET', K.merge, token, 'NX', 'PX', ARGV[5]) then
  return { 'merge', refused }
end
return { 'ok', refused }
