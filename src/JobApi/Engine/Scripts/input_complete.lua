-- Completes an upload: records its owner, size and digest and starts its retention. Until this runs, the
-- chunks carry only the short upload TTL, so an interrupted upload leaves nothing behind for long.
-- KEYS: 1 meta, 2 chunks. ARGV: 1 bytes, 2 chunkBytes, 3 sha256, 4 createdAt (ms), 5 retentionMs, 6 tenant
redis.call('HSET', KEYS[1], 'bytes', ARGV[1], 'chunkBytes', ARGV[2], 'sha256', ARGV[3], 'createdAt', ARGV[4], 'tenant', ARGV[6])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5])) end
return 1
