-- Rotates one queue partition's rotations of active jobs by up to ARGV[1] entries and returns them with their band
-- as {id1, priority1, id2, priority2, ...}: round robin between the jobs of one priority band, so a huge job cannot
-- starve small ones. Not a job script.
-- A rotation is a ZSET whose score is the job's place in the turn order: the lowest scores are visited next, and a
-- visited job goes to the back with the next numbers of the partition's sequence (one ZADD for all of them), so
-- leaving the rotation is a ZREM at any depth (in a list it would take an LREM that scans up to the job).
-- KEYS: 1 the partition's priority-0 rotation, 2 ZSET of the partition's other priorities that have a rotation,
-- 3 the partition's round counter, 4 the partition's turn sequence. A band's rotation is KEYS[1] .. ':p' .. priority:
-- it shares KEYS[1]'s hash tag, so every key this script touches is in KEYS[1]'s slot (band keys are found at run
-- time, hence not in KEYS).
-- Priorities: the highest band with jobs is served first and lower bands fill what is left of the round;
-- every 4th round (counted only while several bands have jobs) starts with a lower band instead, taking turns,
-- so with b bands each lower band leads at least 1 round in 4(b-1): nothing starves.
local want = tonumber(ARGV[1])

-- Visits the next n jobs of one rotation, appends them to out with their band and sends them to the back.
local function visit(key, n, priority, out)
  if n <= 0 then return 0 end
  local ids = redis.call('ZRANGE', key, 0, n - 1)
  if #ids == 0 then return 0 end
  local last = redis.call('INCRBY', KEYS[4], #ids)
  local turns = {}
  for i, id in ipairs(ids) do
    turns[#turns + 1] = last - #ids + i
    turns[#turns + 1] = id
    out[#out + 1] = id
    out[#out + 1] = priority
  end
  redis.call('ZADD', key, 'XX', unpack(turns))
  return #ids
end

local others = redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', '-inf')
local out = {}
if #others == 0 then
  visit(KEYS[1], want, '0', out)
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
  local len = redis.call('ZCARD', key)
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
  taken = taken + visit(lists[k], math.min(want - taken, lens[k]), prios[k], out)
  if taken >= want then break end
end
return out
