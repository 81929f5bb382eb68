-- Reads a job's status in one call: the job hash fields plus the live counts.
-- ARGV: fields of the job hash to read. Returns {values..., succeeded, running, failed} or false.
-- A hold (common.lua) is one shard in flight; it ends with the job.
-- A succeeded job has every shard succeeded; one that ended under its hold has no done record to count.
local v = redis.call('HMGET', K.job, 'hold', 'state', 'total', unpack(ARGV))
local hold, state, total = table.remove(v, 1), table.remove(v, 1), table.remove(v, 1)
if not v[1] then return false end
v[#v + 1] = state == 'succeeded' and tonumber(total) or redis.call('HLEN', K.done)
v[#v + 1] = redis.call('HLEN', K.inflight) + (held(hold) and 1 or 0)
v[#v + 1] = redis.call('SCARD', K.dead)
return v
