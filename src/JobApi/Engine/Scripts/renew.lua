-- Extends the leases this worker still holds: compare the token, then PEXPIRE. A lease that is gone or
-- holds another token is never recreated; it is reported lost so that the worker abandons the work.
-- KEYS[11..]: lease keys (the merge lease key for a merge). ARGV: 1 ttlMs, then per lease key: expected value, shard index (or '' for the merge).
-- Returns the positions (1-based, among the lease keys) of the leases that were lost.
local ttl = tonumber(ARGV[1])
local now = now_ms()
local lost = {}
for k = 11, #KEYS do
  local expected, index = ARGV[2 + (k - 11) * 2], ARGV[3 + (k - 11) * 2]
  if redis.call('GET', KEYS[k]) == expected then
    redis.call('PEXPIRE', KEYS[k], ttl)
    if index ~= '' then redis.call('ZADD', K_RUNNING, 'XX', now + ttl, index) end
  else
    lost[#lost + 1] = k - 10
  end
end
return lost
