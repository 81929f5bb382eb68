
-- Runs the job script above (wrapped as one(KEYS, ARGV)) once per call, for several jobs in one script call, on a
-- Redis that is not a cluster (the jobs' keys are in different slots). Each call sees exactly the KEYS and ARGV it
-- would have had alone, and the job data keys of common.lua are bound to its job first, so every call behaves as
-- its own script call would have, in order.
-- KEYS: every call's keys, one call after the other. ARGV: 1 the number of calls; then per call: its key count, its
-- argument count, its arguments. Returns one reply per call.
local function bind(k)
  K_JOB, K_READY, K_DELAYED, K_RUNNING, K_INFLIGHT, K_BATCHES, K_PAYLOADS, K_RESULTS, K_DONE, K_FAILURES, K_DEAD, K_RESULT, K_MERGE =
    k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9], k[10], k[11], k[12], k[13]
end

local out, ko, ao = {}, 0, 2
for c = 1, tonumber(ARGV[1]) do
  local kc, ac = tonumber(ARGV[ao]), tonumber(ARGV[ao + 1])
  local k, a = {}, {}
  for i = 1, kc do k[i] = KEYS[ko + i] end
  for i = 1, ac do a[i] = ARGV[ao + 1 + i] end
  bind(k)
  out[c] = one(k, a)
  ko, ao = ko + kc, ao + 2 + ac
end
return out
