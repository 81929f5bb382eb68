#!/usr/bin/env bash
# One command: how throughput grows with worker processes (1, 2, 4) on one redis-server and on a local
# 3-primary Redis Cluster (16 queue partitions), for S1(a) many one-shard noop jobs, S1(b) one noop job of
# 20,000 shards and S2 1,000 trial-division shards; 3 repeats per cell (median and min-max). Writes
# bench/results/<UTC stamp>/table.md and results.jsonl (Redis CPU per primary and the workers' CPU per run).
#   bench/scaling.sh                                   # the full matrix (about 25 minutes on 2 cores)
#   SCALING_REPEATS=1 SCALING_N=2000 SCALING_SHARDS=2000 SCALING_S2_SHARDS=200 bench/scaling.sh   # a quick check
# Other knobs: SCALING_WORKERS ("1 2 4"), SCALING_TOPOLOGIES ("single cluster3"), SCALING_ONLY ("S1a S1b S2"),
# SCALING_CONCURRENCY (8 per worker process), SCALING_PARTITIONS (16, cluster only).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
"$root/scripts/ensure-redis.sh"
command -v redis-cli >/dev/null || { echo "redis-cli missing: apt-get install -y redis-tools" >&2; exit 2; }
dotnet build "$here/JobApi.Bench/JobApi.Bench.csproj" -c Release --nologo -v quiet
export SCALING_OUT="${SCALING_OUT:-$here/results/$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$SCALING_OUT"
{ echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo "host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)";
  echo "redis: $(redis-server --version)"; echo "dotnet: $(dotnet --version)"; echo "load before: $(cat /proc/loadavg)";
  env | grep '^SCALING_' | sort; } > "$SCALING_OUT/meta.txt"
dotnet "$here/JobApi.Bench/bin/Release/net10.0/JobApi.Bench.dll" scaling
echo "load after: $(cat /proc/loadavg)" >> "$SCALING_OUT/meta.txt"
echo "results: $SCALING_OUT/table.md"
