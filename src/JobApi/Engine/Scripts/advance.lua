-- A schedule's claimed tick has fired: move it to its next tick (only if it is still scheduled, i.e. was not
-- paused or deleted meanwhile; '' when the expression never fires again) and forget the claimed tick. Not a job script.
-- KEYS: 1 schedules:next ZSET, 2 schedules:ticks HASH. ARGV: 1 schedule id, 2 next tick (ms) or ''.
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[2]), ARGV[1])
end
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
