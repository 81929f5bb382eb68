-- Reads a job's status in one call: the job hash fields plus the live counts.
-- ARGV: fields of the job hash to read. Returns {values..., succeeded, running, failed} or false.
-- A hold (common.lua) is one shard in flight; it ends with the job.
local v = redis.call('HMGET', K_JOB, 'hold', unpack(ARGV))
local hold = table.remove(v, 1)
if not v[1] then return false end
v[#v + 1] = redis.call('HLEN', K_DONE)
v[#v + 1] = redis.call('HLEN', K_INFLIGHT) + (held(hold) and 1 or 0)
v[#v + 1] = redis.call('SCARD', K_DEAD)
return v
