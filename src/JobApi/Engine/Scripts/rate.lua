-- One request against a tenant's (or client address's) request rate, shared by every API node: GCRA, the
-- token bucket kept as one number, the theoretical arrival time (TAT) of the next request, on Redis's clock
-- (so the nodes' clocks do not matter). Over any span of t seconds at most burst + rate * t requests pass.
-- Not a job script: common.lua is not prepended.
-- KEYS: 1 the bucket (STRING: TAT in ms). ARGV: 1 requests per second, 2 burst (requests at once)
-- Returns {1, 0} when the request may pass, {0, ms until one may} when it may not.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = 1000 / tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local allowed_at = tat + interval - burst * interval
if now < allowed_at then return { 0, math.ceil(allowed_at - now) } end
local next_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.3f', next_tat), 'PX', math.ceil(next_tat - now) + 1000)
return { 1, 0 }
