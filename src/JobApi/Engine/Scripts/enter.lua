-- Puts a job into the rotation of its priority band, at the back of the turn order (the partition's next sequence
-- number), unless it is in that rotation already. Not a job script.
-- KEYS: 1 the band's rotation, 2 ZSET of the partition's non-zero priorities that have a rotation, 3 the partition's
-- turn sequence (all in the partition's slot). ARGV: 1 job id, 2 priority.
-- Returns 1 when the job was added, 0 when it was there.
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[3]), ARGV[1])
if ARGV[2] ~= '0' then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2]) end
return 1
