-- Takes jobs out of every rotation (their priority is not needed) and forgets emptied bands. Not a job script.
-- KEYS: 1 the jobs' partition's priority-0 rotation, 2 ZSET of the partition's other priorities (band rotations share
-- KEYS[1]'s hash tag, so one slot). ARGV: the job ids (at most a few hundred: one ZREM per band takes them all).
local bands = redis.call('ZRANGE', KEYS[2], 0, -1)
redis.call('ZREM', KEYS[1], unpack(ARGV))
for _, p in ipairs(bands) do
  local key = KEYS[1] .. ':p' .. p
  redis.call('ZREM', key, unpack(ARGV))
  if redis.call('ZCARD', key) == 0 then redis.call('ZREM', KEYS[2], p) end
end
return 1
