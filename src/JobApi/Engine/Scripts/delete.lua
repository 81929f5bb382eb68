-- Deletes a finished job: every data key, its result items list and every lease key it ever had (fences 1..fence).
-- ARGV: 1 the events channel, 2 the job id. Its delete event ('<id>|x' on that channel) wakes whoever waits on the
-- job, and makes every node drop what it keeps of it (RecentResults).
-- Returns {'deleted', idempotency record key ('' when none)} | {'unfinished', state} | {'gone'}
local h = redis.call('HMGET', K.job, 'state', 'fence', 'idem')
if not h[1] then return { 'gone' } end
if not is_final(h[1]) then return { 'unfinished', h[1] } end
local leases = {}
for f = 1, tonumber(h[2] or '0') do leases[#leases + 1] = lease_key(f) end
for s = 1, #leases, CHUNK do redis.call('DEL', unpack(leases, s, math.min(s + CHUNK - 1, #leases))) end
redis.call('DEL', string.sub(K.job, 1, #K.job - 3) .. 'items', unpack(KEYS, 1, DATA_KEYS))
redis.call('PUBLISH', ARGV[1], ARGV[2] .. '|x')
return { 'deleted', h[3] or '' }
