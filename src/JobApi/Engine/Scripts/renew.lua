-- Extends the leases this worker still holds: compare the token, then PEXPIRE (a hold: move its deadline). A lease
-- that is gone or holds another token is never recreated; it is reported lost so that the worker abandons its shards.
-- A hold past its deadline counts as gone, as a lease key past its TTL is: the next lease round reaps it.
-- KEYS[14..]: lease keys (K.merge for the merge lease). ARGV: 1 ttlMs, 2 token, then per lease key its fence ('' for the merge).
-- Every lease counts as lost once the job is final.
-- Returns the positions (1-based, among the lease keys) of the leases that were lost.
local ttl, token = tonumber(ARGV[1]), ARGV[2]
local now = now_ms()
local lost = {}
-- A finished (or expired) job keeps no lease alive: the worker stops at once and the keys run out.
local h = redis.call('HMGET', K.job, 'state', 'hold', 'holdToken', 'holdUntil')
local state = h[1]
if not state or is_final(state) then
  for k = 14, #KEYS do lost[#lost + 1] = k - 13 end
  return lost
end
for k = 14, #KEYS do
  local f = ARGV[k - 11]
  if f ~= '' and h[2] == f then
    -- A hold (common.lua): its deadline is in the job hash.
    if h[3] == token and (tonumber(h[4]) or 0) > now then
      redis.call('HSET', K.job, 'holdUntil', now + ttl)
    else
      lost[#lost + 1] = k - 13
    end
  elseif redis.call('GET', KEYS[k]) == token then
    redis.call('PEXPIRE', KEYS[k], ttl)
    if f ~= '' then redis.call('ZADD', K.running, 'XX', now + ttl, f) end
  else
    lost[#lost + 1] = k - 13
  end
end
return lost
