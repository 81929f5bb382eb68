-- Gives held shards back without counting an attempt (graceful shutdown): they go to the front of the queue.
-- KEYS[14]: lease key of f. ARGV: 1 fence, 2 token, 3.. indexes
-- Returns how many shards were released.
local f, token = ARGV[1], ARGV[2]
local h = redis.call('HMGET', K.job, 'state', 'hold', 'holdToken')
local state = h[1]
if not state or is_final(state) then return 0 end
if h[2] == f then
  -- A hold (common.lua): shard 0 goes back and the hold ends.
  if h[3] ~= token then return 0 end
  for k = 3, #ARGV do
    if ARGV[k] == '0' then
      redis.call('LPUSH', K.ready, '0')
      redis.call('HSET', K.job, 'hold', '')
      redis.call('HINCRBY', K.job, 'attempts', -1)
      return 1
    end
  end
  return 0
end
if redis.call('GET', KEYS[14]) ~= token then return 0 end
local back = {}
for k = 3, #ARGV do
  if redis.call('HGET', K.inflight, ARGV[k]) == f then back[#back + 1] = ARGV[k] end
end
if #back > 0 then
  chunked('HDEL', K.inflight, back)
  chunked('LPUSH', K.ready, back)
  redis.call('HINCRBY', K.job, 'attempts', -#back)
end
settle(f, #back, KEYS[14]) -- only the shards this lease still holds (see commit.lua)
return #back
