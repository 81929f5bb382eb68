-- Queues a waiting job once it is due: every dependency succeeded and its runAt has passed. A dependency that
-- failed, was canceled or no longer exists cancels the job with an error naming it. Atomic on the job's state,
-- so any number of scheduler nodes may try the same job: exactly one of them queues it.
-- ARGV: 1 retentionMs, 2 eventsChannel, 3 jobId, 4.. pairs of dependency id and its state ('' when it is gone)
-- Returns {'queued', priority} | {'later', runAtMs} | {'deps'} | {'canceled'} | {'other', state} | {'gone'}
local h = redis.call('HMGET', K.job, 'state', 'runAt', 'depsMet', 'priority', 'deps')
if not h[1] then return { 'gone' } end
if h[1] ~= 'waiting' then return { 'other', h[1] } end
local now = now_ms()
if h[5] and h[3] ~= '1' then
  local met = true
  for k = 4, #ARGV, 2 do
    local dep, st = ARGV[k], ARGV[k + 1]
    if st == '' or st == 'failed' or st == 'canceled' then
      local why = (st == '') and 'no longer exists' or ('was ' .. st)
      finish_job('canceled', 'dependency ' .. dep .. ' ' .. why, now, tonumber(ARGV[1]), ARGV[2], ARGV[3])
      return { 'canceled' }
    elseif st ~= 'succeeded' then
      met = false
    end
  end
  if not met then return { 'deps' } end
  redis.call('HSET', K.job, 'depsMet', '1')
end
if h[2] and tonumber(h[2]) > now then return { 'later', h[2] } end
redis.call('HSET', K.job, 'state', 'queued')
return { 'queued', h[4] or '0' }
