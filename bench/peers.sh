#!/usr/bin/env bash
# One command: runs the peers' harness (BullMQ and Hangfire on one private Redis) with JobApi's rows
# added to the same run, and prints the combined table. The harness is copied to a temporary folder
# (../shared/peers is read-only); its results are copied to bench/results/<UTC stamp>/.
#   bench/peers.sh                      # all scenarios (about 5 minutes on 2 cores)
#   PEERS_ONLY="redis bullmq" bench/peers.sh   # fewer peers; the harness's own knobs all apply
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
peers_src="${PEERS_SRC:-$root/../shared/peers}"
[ -x "$peers_src/run.sh" ] || { echo "peers harness not found at $peers_src (set PEERS_SRC)" >&2; exit 2; }
"$root/scripts/ensure-redis.sh"
command -v redis-benchmark >/dev/null || { echo "redis-benchmark missing: apt-get install -y redis-tools" >&2; exit 2; }

work="$(mktemp -d /tmp/jobapi-peers.XXXXXX)"
cp -r "$peers_src"/. "$work"/
dotnet build "$here/JobApi.Bench/JobApi.Bench.csproj" -c Release --nologo -v quiet
export PEERS_EXTRA="dotnet '$here/JobApi.Bench/bin/Release/net10.0/JobApi.Bench.dll'"
export PEERS_EXTRA_TIMEOUT="${PEERS_EXTRA_TIMEOUT:-900}"
export PEERS_OUT="$work/results/$(date -u +%Y%m%dT%H%M%SZ)"
(cd "$work" && ./run.sh)
mkdir -p "$here/results"
cp -r "$PEERS_OUT" "$here/results/"
echo "results: $here/results/$(basename "$PEERS_OUT")/table.md"
