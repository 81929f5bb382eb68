-- Takes jobs out of every rotation list (their priority is not needed) and forgets emptied bands. Not a job script.
-- KEYS: 1 the jobs' partition's priority-0 list, 2 ZSET of the partition's other priorities (band lists share
-- KEYS[1]'s hash tag, so one slot). ARGV: the job ids.
local bands = redis.call('ZRANGE', KEYS[2], 0, -1)
for _, id in ipairs(ARGV) do
  redis.call('LREM', KEYS[1], '1', id)
  for _, p in ipairs(bands) do redis.call('LREM', KEYS[1] .. ':p' .. p, '1', id) end
end
for _, p in ipairs(bands) do
  if redis.call('LLEN', KEYS[1] .. ':p' .. p) == 0 then redis.call('ZREM', KEYS[2], p) end
end
return 1
