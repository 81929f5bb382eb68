-- Reads an input's record and restarts its retention (a job references it, or a shard reads it).
-- KEYS: 1 meta, 2 chunks. ARGV: 1 retentionMs, 2 tenant ('' = any: a shard reading what its job was planned with)
-- Returns {bytes, chunkBytes, sha256} or false when the input does not exist (never uploaded, or expired) or
-- belongs to another tenant than ARGV[2] (inputs from before owners were stored belong to 'default').
local h = redis.call('HMGET', KEYS[1], 'bytes', 'chunkBytes', 'sha256', 'tenant')
if not h[1] then return false end
if ARGV[2] ~= '' and (h[4] or 'default') ~= ARGV[2] then return false end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[1])) end
return { h[1], h[2], h[3] }
