-- Runs the job script above (wrapped as one(KEYS, ARGV)) once per call, for several jobs in one script call, on a
-- Redis that is not a cluster (the jobs' keys are in different slots). Each call sees exactly the ARGV it would have
-- had alone, and K, the job's data keys of common.lua, bound to its job, so every call behaves as its own script call
-- would have, in order. The keys are not sent: each is made from the job's key base when the script first uses it
-- (a lease or a commit of a one-shard job uses two or three of the thirteen), and a lease key from K.job (lease_key).
-- KEYS: none. ARGV: 1 the number of calls; then per call: its job's key base ('<prefix>:{<id>}:',
-- RedisKeys.JobKeys.Base), its argument count, its arguments. Returns one reply per call. The calls' final events go
-- out together at the end, one message per channel.
local base
local LAZY = {
  __index = function(keys, name)
    if not DATA[name] then error('no job key ' .. tostring(name)) end
    local key = base .. name
    rawset(keys, name, key)
    return key
  end,
}
for _, name in ipairs(DATA) do DATA[name] = true end

local out, ao, none = {}, 2, {}
EVENTS = {}
-- The calls run under pcall so that the final events of the calls before one that fails are still published, as
-- they were when each call published its own; the error then ends the script as it would have.
local ok, err = pcall(function()
  for c = 1, tonumber(ARGV[1]) do
    local ac = tonumber(ARGV[ao + 1])
    local a = {}
    for i = 1, ac do a[i] = ARGV[ao + 1 + i] end
    base = ARGV[ao]
    K = setmetatable({}, LAZY)
    out[c] = one(none, a)
    ao = ao + 2 + ac
  end
end)
-- The calls' final events, one message per channel (finish_job in common.lua).
for _, channel in ipairs(EVENTS) do redis.call('PUBLISH', channel, table.concat(EVENTS[channel], '\30')) end
if not ok then error(err) end
return out
