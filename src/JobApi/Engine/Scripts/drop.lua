-- Takes a job out of every rotation list (its priority is not needed) and forgets emptied bands. Not a job script.
-- KEYS: 1 the job's partition's priority-0 list, 2 ZSET of the partition's other priorities (band lists share
-- KEYS[1]'s hash tag, so one slot). ARGV: 1 job id.
redis.call('LREM', KEYS[1], 1, ARGV[1])
for _, p in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local key = KEYS[1] .. ':p' .. p
  redis.call('LREM', key, 1, ARGV[1])
  if redis.call('LLEN', key) == 0 then redis.call('ZREM', KEYS[2], p) end
end
return 1
