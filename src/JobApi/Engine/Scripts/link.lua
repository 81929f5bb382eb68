-- Runs in a dependency's slot: notes the dependent job so that the dependency's final event wakes it at once
-- (the scheduler's own re-checks are the safety net). ARGV: 1 dependent job id.
-- Returns the dependency's state, or false when it does not exist.
local state = redis.call('HGET', K.job, 'state')
if not state then return false end
if not is_final(state) then
  local cur = redis.call('HGET', K.job, 'dependents')
  redis.call('HSET', K.job, 'dependents', (cur and (cur .. ',') or '') .. ARGV[1])
end
return state
