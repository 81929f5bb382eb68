-- Records one webhook delivery attempt in the job hash (the job status shows it). Nothing is written when
-- the job is gone (deleted or expired), so no key is created without a TTL, nor when the delivered status is
-- stale (the job was retried since: its finishedAt changed), so the new outcome is still delivered.
-- ARGV: 1 HTTP status of the attempt ('' when no answer), 2 outcome: delivered | retrying | failed,
--       3 finishedAt (ms) of the delivered status
-- Returns the attempts so far, -1 when the delivered status is stale, or false when the job is gone.
if redis.call('EXISTS', K.job) == 0 then return false end
if tonumber(redis.call('HGET', K.job, 'finishedAt') or '-1') ~= tonumber(ARGV[3]) then return -1 end
local n = redis.call('HINCRBY', K.job, 'webhookAttempts', 1)
redis.call('HSET', K.job, 'webhookLastStatus', ARGV[1], 'webhookState', ARGV[2])
if ARGV[2] == 'delivered' then redis.call('HSET', K.job, 'webhookDeliveredAt', now_ms()) end
return n
