-- Claims due entries of a ZSET of "when to look next" (KEYS[1]): each due member's score moves to now + claimMs,
-- so other nodes leave it alone while this one works on it; a node that dies mid-way leaves the entry to be
-- claimed again when that runs out. Not a job script (no common.lua).
-- With KEYS[2] (schedules), the first claim of a tick records it there (HSETNX) and every later claim returns
-- that recorded tick, so a tick whose claimer died is fired again as the same tick.
-- ARGV: 1 limit, 2 claimMs. Returns {nowMs, member1, tick1, member2, tick2, ...}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
local out = { now }
for k = 1, #due, 2 do
  local member, tick = due[k], due[k + 1]
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), member)
  if KEYS[2] then
    redis.call('HSETNX', KEYS[2], member, tick)
    tick = redis.call('HGET', KEYS[2], member)
  end
  out[#out + 1] = member
  out[#out + 1] = tick
end
return out
