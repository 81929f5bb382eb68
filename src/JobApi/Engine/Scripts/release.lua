-- Gives held shards back without counting an attempt (graceful shutdown): they go to the front of the queue.
-- KEYS[14]: lease key of f. ARGV: 1 fence, 2 token, 3.. indexes
-- Returns how many shards were released.
local f, token = ARGV[1], ARGV[2]
local h = redis.call('HMGET', K_JOB, 'state', 'hold', 'holdToken')
local state = h[1]
if not state or is_final(state) then return 0 end
if h[2] == f then
  -- A hold (common.lua): shard 0 goes back and the hold ends.
  if h[3] ~= token then return 0 end
  for k = 3, #ARGV do
    if ARGV[k] == '0' then
      redis.call('LPUSH', K_READY, '0')
      redis.call('HSET', K_JOB, 'hold', '')
      redis.call('HINCRBY', K_JOB, 'attempts', -1)
      return 1
    end
  end
  return 0
end
if redis.call('GET', KEYS[14]) ~= token then return 0 end
local back = {}
for k = 3, #ARGV do
  if redis.call('HGET', K_INFLIGHT, ARGV[k]) == f then back[#back + 1] = ARGV[k] end
end
if #back > 0 then
  chunked('HDEL', K_INFLIGHT, back)
  chunked('LPUSH', K_READY, back)
  redis.call('HINCRBY', K_JOB, 'attempts', -#back)
end
settle(f, #back, KEYS[14]) -- only the shards this lease still holds (see commit.lua)
return #back
