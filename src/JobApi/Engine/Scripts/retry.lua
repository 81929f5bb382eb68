-- Gives a failed job another go: every shard that has not succeeded (the dead ones, and those dropped when
-- the job failed) goes back to the ready queue, the dead-letter set is emptied, the job is 'running' again
-- and its keys lose the retention TTL. Committed results stay, so succeeded shards never run again.
-- Attempt counts go on from where they were; each shard gets maxAttempts more attempts (attemptLimit).
-- A timeoutSeconds counts again from the retry (retriedAt); a callback is delivered again when the job ends.
-- ARGV: none. Returns {'ok', requeued, priority, timeoutMs or '', callback ('1' or '')}
--   | {'conflict', state} | false (no such job).
local h = redis.call('HMGET', K.job, 'state', 'total', 'maxAttempts', 'attemptLimit', 'priority', 'timeoutMs', 'callbackUrl')
if not h[1] then return false end
if h[1] ~= 'failed' then return { 'conflict', h[1] } end
local total, max_attempts = tonumber(h[2]), tonumber(h[3])
local back = {}
for i = 0, total - 1 do
  if redis.call('HEXISTS', K.done, i) == 0 then back[#back + 1] = i end
end
local now = now_ms()
for i = 1, DATA_KEYS do redis.call('PERSIST', KEYS[i]) end
redis.call('DEL', K.dead, K.ready, K.delayed, K.result, K.merge)
chunked('RPUSH', K.ready, back)
redis.call('HDEL', K.job, 'ready', 'hold', 'holdToken', 'holdUntil', 'holdBy', 'finishedAt', 'error', 'webhookState',
  'webhookAttempts', 'webhookLastStatus', 'webhookDeliveredAt')
redis.call('HSET', K.job, 'state', 'running', 'attemptLimit', (tonumber(h[4]) or max_attempts) + max_attempts,
  'retriedAt', now, 'seenAt', now)
redis.call('HINCRBY', K.job, 'retries', 1)
return { 'ok', #back, h[5] or '0', h[6] or '', h[7] and '1' or '' }
