-- Gives a held shard back without counting the attempt (graceful shutdown): it goes to the front of the queue.
-- KEYS[11]: the shard's lease key. ARGV: 1 index, 2 token, 3 fence
-- Returns 1 when released, 0 when the lease was no longer ours.
local i, token, fence = ARGV[1], ARGV[2], tonumber(ARGV[3])
local state = redis.call('HGET', K_JOB, 'state')
if not state or is_final(state) then return 0 end
if redis.call('GET', KEYS[11]) ~= token .. ':' .. fence then return 0 end
local rec = get_shard(i)
if rec.s ~= 'running' or rec.f ~= fence then return 0 end
rec.s, rec.a, rec.w = 'queued', rec.a - 1, nil
put_shard(i, rec)
redis.call('DEL', KEYS[11])
redis.call('ZREM', K_RUNNING, i)
redis.call('HINCRBY', K_JOB, 'running', -1)
redis.call('LPUSH', K_READY, i)
return 1
