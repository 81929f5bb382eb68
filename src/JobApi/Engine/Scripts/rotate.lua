-- Rotates one queue partition's lists of active jobs by up to ARGV[1] entries, right to left, and returns them
-- with their band as {id1, priority1, id2, priority2, ...}: round robin between the jobs of one priority band,
-- so a huge job cannot starve small ones. Not a job script.
-- KEYS: 1 the partition's priority-0 list, 2 ZSET of the partition's other priorities that have a list, 3 the
-- partition's round counter. A band's list is KEYS[1] .. ':p' .. priority: it shares KEYS[1]'s hash tag, so
-- every key this script touches is in KEYS[1]'s slot (band lists are found at run time, hence not in KEYS).
-- Priorities: the highest band with jobs is served first and lower bands fill what is left of the round;
-- every 4th round (counted only while several bands have jobs) starts with a lower band instead, taking turns,
-- so with b bands each lower band leads at least 1 round in 4(b-1): nothing starves.
local want = tonumber(ARGV[1])
local others = redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', '-inf')
local out = {}
if #others == 0 then
  local n = math.min(want, redis.call('LLEN', KEYS[1]))
  for _ = 1, n do
    out[#out + 1] = redis.call('LMOVE', KEYS[1], KEYS[1], 'RIGHT', 'LEFT')
    out[#out + 1] = '0'
  end
  return out
end
local bands, zero_done = {}, false
for _, p in ipairs(others) do
  if not zero_done and tonumber(p) < 0 then bands[#bands + 1] = '0'; zero_done = true end
  bands[#bands + 1] = p
end
if not zero_done then bands[#bands + 1] = '0' end
local lists, lens, prios = {}, {}, {}
for _, p in ipairs(bands) do
  local key = (p == '0') and KEYS[1] or (KEYS[1] .. ':p' .. p)
  local len = redis.call('LLEN', key)
  if len > 0 then
    lists[#lists + 1] = key
    lens[#lens + 1] = len
    prios[#prios + 1] = p
  elseif p ~= '0' then
    redis.call('ZREM', KEYS[2], p)
  end
end
if #lists == 0 then return out end
local first = 1
if #lists > 1 then
  local round = redis.call('INCR', KEYS[3])
  if round % 4 == 0 then first = 2 + (math.floor(round / 4) % (#lists - 1)) end
end
local order = { first }
for k = 1, #lists do if k ~= first then order[#order + 1] = k end end
local taken = 0
for _, k in ipairs(order) do
  local n = math.min(want - taken, lens[k])
  for _ = 1, n do
    out[#out + 1] = redis.call('LMOVE', lists[k], lists[k], 'RIGHT', 'LEFT')
    out[#out + 1] = prios[k]
  end
  taken = taken + n
  if taken >= want then break end
end
return out
