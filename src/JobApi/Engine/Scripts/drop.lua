-- Takes jobs out of every rotation (their priority is not needed) and forgets emptied bands. Not a job script.
-- KEYS: 1 the jobs' partition's priority-0 rotation, 2 ZSET of the partition's other priorities (band rotations share
-- KEYS[1]'s hash tag, so one slot), 3 the partition's round counter, 4 its turn sequence.
-- ARGV: the job ids (at most a few hundred: one ZREM per band takes them all).
-- A partition left with no job in any rotation forgets its counters too (a sequence that starts again at 1 orders
-- an empty rotation as well as any), so an idle service keeps no key of it.
local bands = redis.call('ZRANGE', KEYS[2], 0, -1)
redis.call('ZREM', KEYS[1], unpack(ARGV))
local left = #bands
for _, p in ipairs(bands) do
  local key = KEYS[1] .. ':p' .. p
  redis.call('ZREM', key, unpack(ARGV))
  if redis.call('ZCARD', key) == 0 then
    redis.call('ZREM', KEYS[2], p)
    left = left - 1
  end
end
if left == 0 and redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[3], KEYS[4]) end
return 1
