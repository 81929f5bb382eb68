-- A plain submit (no idempotency key, no wait, no dependency, no timeout, no webhook) in one script call, on a Redis
-- that is not a cluster (its keys are in several slots): the tenant's quota (quota.lua as reserve()), then, when it
-- takes the job, the index entries, the job (submit.lua as create()), its place in the rotation (enter.lua as enter())
-- and the nudge. A refused submit writes nothing, and the job is never without its index entries.
-- Built by LuaScripts.SubmitWhole: common.lua, the three scripts as functions, then this.
-- KEYS: 1..13 the job's data keys, 14 quota usage, 15 quota ledger, 16 the partition's job index, 17 its pending
--       index, 18 the tenant's jobs, 19 the set of tenants, 20..22 the rotation keys enter.lua takes.
-- ARGV: 1 job id, 2 tenant, 3 pending score (ms), 4 nudge channel, 5 priority, 6 the idle worker of the submitting
--       process that takes the job's shard at once ('' when none), 7 its lease token, 8 the lease TTL (ms),
--       9 the job's result when that worker ran its shard already, in the submit ('' when not), 10 the events channel,
--       11 the retention (ms), 12 q = number of quota arguments (0 when quotas are off), 13..12+q quota.lua's reserve
--       arguments, then submit.lua's arguments.
-- Returns {'quota', limit, used, max} when a cap refuses the job, otherwise submit.lua's reply, with a fifth element
-- 'held' when the worker of ARGV[6] holds the job's shard, or 'ended' when the job ended here with the result ARGV[9].
local id, q = ARGV[1], tonumber(ARGV[12])
-- A job whose shard ran in the submit ends in this call (below, when it is created as the lone job it was run as): it
-- is never open, so the quota only checks that the caps leave room for it, as for any job, and counts nothing.
local ran_ahead = ARGV[6] ~= '' and ARGV[9] ~= ''
if q > 0 then
  local quota_args = { unpack(ARGV, 13, 12 + q) }
  if ran_ahead then quota_args[1] = 'check' end
  local r = reserve({ KEYS[14], KEYS[15] }, quota_args)
  if r[1] ~= 1 then return { 'quota', r[2], r[3], r[4] } end
end
redis.call('ZADD', KEYS[16], 0, id)
redis.call('ZADD', KEYS[18], 0, id)
redis.call('SADD', KEYS[19], ARGV[2])
-- submit.lua's arguments, copied one by one: unpack() is limited by the Lua stack, and a job may have many payloads.
local args = {}
for i = 13 + q, #ARGV do args[#args + 1] = ARGV[i] end
local reply = create(KEYS, args)
-- A one-shard job whose ready shard is in its hash (submit.lua: total 1, one payload), submitted where a worker is
-- idle: that worker holds it from the start, the hold its first lease would take (take_hold, as in lease.lua), and
-- no other worker is woken for it.
local lone = reply[1] == 1 and reply[3] == 'queued' and ARGV[6] ~= '' and args[2] == '1' and args[6] ~= ''
if lone and ran_ahead then
  -- Its worker ran the shard in the submit and merged it: the job ends under that hold, as the hold's commit would
  -- end it (commit.lua), in the same call. It never waits, so it joins neither the pending index nor the rotation.
  take_hold(ARGV[6], ARGV[7], ARGV[8], '1')
  local _, now_s = now_ms_and_string()
  finish_job('succeeded', nil, now_s, ARGV[11], ARGV[10], id,
    { fields = { 'commits', 1 }, result = ARGV[9], whole = true, clean = true, bare = true })
  return { 1, reply[2], 'succeeded', reply[4], 'ended' }
end
-- A shard run ahead for a job that is not created as the lone job it was run as (never, for a plain submit with a
-- fresh id): the job is open after all, and counted now; the check above, in this same call, leaves room for it.
if ran_ahead and reply[1] == 1 and q > 0 then reserve({ KEYS[14], KEYS[15] }, { unpack(ARGV, 13, 12 + q) }) end
-- Every other job is in the pending index, which the sweep reads (a job is never without its index entries).
redis.call('ZADD', KEYS[17], 'NX', ARGV[3], id)
if reply[1] == 1 and reply[3] == 'queued' then
  enter({ KEYS[20], KEYS[21], KEYS[22] }, { id, ARGV[5] })
  -- It stays in the rotation like any leased job: if its worker dies, the hold runs out and the next worker to visit
  -- it reaps it.
  if lone then
    take_hold(ARGV[6], ARGV[7], ARGV[8], '1')
    return { 1, reply[2], 'running', reply[4], 'held' }
  end
  redis.call('PUBLISH', ARGV[4], id)
end
return reply
