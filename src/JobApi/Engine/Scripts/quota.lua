-- Per-tenant quota counters, in the tenant's slot (not a job script: common.lua is not prepended).
-- KEYS: 1 usage HASH (jobs, shards, bytes), 2 open HASH (job id -> 'shards|bytes').
-- ARGV reserve: 'reserve', id, shards, bytes, maxJobs, maxShards, maxBytes, ttlMs, jobs (1 for a job, 0 for an
--   uploaded input, whose ledger id is 'input:<id>'; a cap of 0 is off)
--   Returns {1} when counted (or already counted), {0, limit, used, max} when a cap would be exceeded.
-- ARGV check: as reserve, with 'check' first: the caps are checked as reserve checks them, and nothing is counted (a
--   job that ends within its submit is never open, so it holds no share). Returns as reserve.
-- ARGV release: 'release', id1, id2, ... Returns how many of them were counted and are now released.
-- A job is counted at most once and released at most once: the open hash is the ledger.
local op, id = ARGV[1], ARGV[2]
if op == 'release' then
  local released = 0
  for k = 2, #ARGV do
    local entry = redis.call('HGET', KEYS[2], ARGV[k])
    if entry then
      local shards, bytes, jobs = string.match(entry, '^(%d+)|(%d+)|?(%d*)$')
      redis.call('HDEL', KEYS[2], ARGV[k])
      -- 0 - n, not -n: Lua's -0 reaches Redis as "-0", which is not an integer to it.
      redis.call('HINCRBY', KEYS[1], 'jobs', 0 - (tonumber(jobs) or 1))
      redis.call('HINCRBY', KEYS[1], 'shards', 0 - tonumber(shards))
      redis.call('HINCRBY', KEYS[1], 'bytes', 0 - tonumber(bytes))
      released = released + 1
    end
  end
  if released > 0 and redis.call('HLEN', KEYS[2]) == 0 then redis.call('DEL', KEYS[1]) end -- nothing open: the counters are all 0
  return released
end
if op ~= 'check' and redis.call('HEXISTS', KEYS[2], id) == 1 then return { 1 } end
local shards, bytes, jobs = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[9] or '1')
local used = redis.call('HMGET', KEYS[1], 'jobs', 'shards', 'bytes')
local checks = {
  { 'JobApi:Limits:MaxRunningJobsPerTenant', tonumber(used[1] or 0), jobs, tonumber(ARGV[5]) },
  { 'JobApi:Limits:MaxQueuedShardsPerTenant', tonumber(used[2] or 0), shards, tonumber(ARGV[6]) },
  { 'JobApi:Limits:MaxStoredBytesPerTenant', tonumber(used[3] or 0), bytes, tonumber(ARGV[7]) },
}
for _, c in ipairs(checks) do
  if c[4] > 0 and c[2] + c[3] > c[4] then return { 0, c[1], c[2], c[4] } end
end
if op == 'check' then return { 1 } end
-- ARGV's own strings, not the numbers read from them: formatting a number for Redis costs as much as a command.
local jobs_s = ARGV[9] or '1'
redis.call('HSET', KEYS[2], id, ARGV[3] .. '|' .. ARGV[4] .. '|' .. jobs_s)
redis.call('HINCRBY', KEYS[1], 'jobs', jobs_s)
redis.call('HINCRBY', KEYS[1], 'shards', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'bytes', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[8])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
return { 1 }
