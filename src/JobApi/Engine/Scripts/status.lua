-- Reads a job's status in one call: the job hash fields plus the live counts.
-- ARGV: fields of the job hash to read. Returns {values..., succeeded, running, failed} or false.
local v = redis.call('HMGET', K_JOB, unpack(ARGV))
if not v[1] then return false end
v[#v + 1] = redis.call('HLEN', K_DONE)
v[#v + 1] = redis.call('HLEN', K_INFLIGHT)
v[#v + 1] = redis.call('SCARD', K_DEAD)
return v
