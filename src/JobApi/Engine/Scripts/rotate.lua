-- Rotates the list of active jobs (KEYS[1]) by up to ARGV[1] entries, right to left, and returns them:
-- round robin between jobs, so a huge job cannot starve small ones. Not a job script (no common.lua).
local n = math.min(tonumber(ARGV[1]), redis.call('LLEN', KEYS[1]))
local out = {}
for k = 1, n do out[k] = redis.call('LMOVE', KEYS[1], KEYS[1], 'RIGHT', 'LEFT') end
return out
