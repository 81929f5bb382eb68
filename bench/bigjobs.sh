#!/usr/bin/env bash
# Big jobs against standard tools, in one run, as ratios:
#  - primes 0..10^10 through the service (both cores; the first run after start-up, then the same job again)
#    vs `primesieve` (apt: primesieve-bin) and vs the service's own sieve on one thread (one shard);
#  - wordcount of a >= 200 MB uploaded text vs `LC_ALL=C tr -cs '[:alnum:]' '\n' | tr A-Z a-z | sort | uniq -c`.
# Starts its own redis-server and service on loopback; prints JSON lines and a short summary.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(dirname "$here")"
"$root/scripts/ensure-redis.sh"
if ! command -v primesieve >/dev/null; then
  sudo_=""; [ "$(id -u)" -ne 0 ] && sudo_=sudo
  $sudo_ apt-get install -y -qq primesieve-bin >/dev/null || $sudo_ sh -c 'apt-get update -qq && apt-get install -y -qq primesieve-bin >/dev/null'
fi
TO="${BIG_PRIMES_TO:-10000000000}"; MB="${BIG_TEXT_MB:-200}"
work="$(mktemp -d /tmp/jobapi-big.XXXXXX)"; port=$((20000 + RANDOM % 20000)); http=$((40000 + RANDOM % 20000))
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --daemonize yes >/dev/null
cleanup() { kill "${svc:-0}" 2>/dev/null || true; redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
dotnet build "$root/src/JobApi/JobApi.csproj" -c Release --nologo -v quiet
# DOTNET_ReadyToRun=0 as run.sh and the image run the service (src/JobApi/ServiceRuntime.props).
DOTNET_ReadyToRun="${JOBAPI_BENCH_READYTORUN:-0}" \
ConnectionStrings__Redis="127.0.0.1:$port" JobApi__Limits__MaxInputBytes=$((2 * 1024 * 1024 * 1024)) Logging__LogLevel__Default=Warning \
  dotnet "$root/src/JobApi/bin/Release/net10.0/JobApi.dll" --urls "http://127.0.0.1:$http" >"$work/service.log" 2>&1 &
svc=$!
until curl -sf "http://127.0.0.1:$http/health/ready" >/dev/null; do sleep 0.2; done
now() { date +%s.%N; }
# A number as JSON wants it (bc prints .77 for 0.77): calc EXPR [DECIMALS]
calc() { LC_ALL=C printf "%.${2:-3}f" "$(echo "$1" | bc -l)"; }
job() { # body -> prints elapsed seconds and the result
  local t0 id; t0=$(now)
  id=$(curl -sf -X POST "http://127.0.0.1:$http/v1/jobs" -H 'Content-Type: application/json' -d "$1" | sed -E 's/.*"id":"([^"]+)".*/\1/')
  until r=$(curl -sf "http://127.0.0.1:$http/v1/jobs/$id/result?waitSeconds=60"); do sleep 0.1; done
  echo "$(calc "$(now) - $t0") $r"
}
# warm-up
job '{"kind":"primes","input":{"from":0,"to":100000000}}' >/dev/null

t0=$(now); ps_out=$(primesieve "$TO" --count --sum -q 2>/dev/null || primesieve "$TO" -c1 -q); ps_s=$(calc "$(now) - $t0")
read -r svc_s svc_r <<<"$(job "{\"kind\":\"primes\",\"input\":{\"from\":0,\"to\":$TO}}")"
read -r svc2_s _ <<<"$(job "{\"kind\":\"primes\",\"input\":{\"from\":0,\"to\":$TO}}")" # the same job again, on warm code
read -r one_s one_r <<<"$(job "{\"kind\":\"primes\",\"input\":{\"from\":0,\"to\":$TO},\"shards\":1}")"
echo "{\"scenario\":\"big\",\"metric\":\"primes_0_to_${TO}_s\",\"service\":$svc_s,\"service_second_run\":$svc2_s,\"service_one_shard\":$one_s,\"primesieve\":$ps_s,\"ratio_vs_primesieve\":$(calc "$svc_s / $ps_s" 2),\"result\":$svc_r,\"primesieve_says\":\"$(echo $ps_out | tr -d '\n')\"}"

# >= MB megabytes of text: words drawn from a fixed vocabulary, deterministic
python3 - "$work/text.txt" "$MB" <<'PY' 2>/dev/null || awk -v mb="$MB" 'BEGIN{srand(42); while (n < mb*1048576) { w = sprintf("w%x ", int(rand()*50000)); printf "%s", w; n += length(w); if (rand() < 0.05) printf "\n" } }' >"$work/text.txt"
import random, sys
random.seed(42); vocab = [f"word{i}" for i in range(50000)]; target = int(sys.argv[2]) << 20
with open(sys.argv[1], "w") as f:
    n = 0
    while n < target:
        line = " ".join(random.choices(vocab, k=12)) + "\n"; f.write(line); n += len(line)
PY
t0=$(now); LC_ALL=C tr -cs '[:alnum:]' '\n' <"$work/text.txt" | tr A-Z a-z | LC_ALL=C sort | LC_ALL=C uniq -c | LC_ALL=C sort -k1,1nr -k2 >"$work/gnu.txt"; gnu_s=$(calc "$(now) - $t0")
t0=$(now); input=$(curl -sf -X POST "http://127.0.0.1:$http/v1/inputs" -H 'Content-Type: text/plain' --data-binary @"$work/text.txt" | sed -E 's/.*"id":"([^"]+)".*/\1/'); up_s=$(calc "$(now) - $t0")
read -r wc_s wc_r <<<"$(job "{\"kind\":\"wordcount\",\"input\":{\"inputRef\":\"$input\",\"top\":10}}")"
top_gnu=$(head -1 "$work/gnu.txt" | awk '{print $2":"$1}')
echo "{\"scenario\":\"big\",\"metric\":\"wordcount_${MB}MB_s\",\"service\":$wc_s,\"upload_s\":$up_s,\"gnu_pipeline\":$gnu_s,\"ratio_vs_gnu\":$(calc "$wc_s / $gnu_s" 2),\"gnu_top1\":\"$top_gnu\",\"result\":$wc_r}"
