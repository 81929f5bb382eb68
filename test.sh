#!/usr/bin/env bash
# Runs every test project (unit, integration over HTTP with a real redis-server, fault tests with real
# processes, the dashboard in headless chromium) and ends with one line: "N passed, N failed". Installs
# redis-server and chromium first when missing.
set -uo pipefail
cd "$(dirname "$0")"
scripts/ensure-redis.sh || { echo "0 passed, 1 failed"; exit 1; }
# The dashboard's browser tests need Debian's chromium; without it they fail with a clear message.
scripts/ensure-chromium.sh || echo "warning: chromium could not be installed; the browser tests will fail" >&2
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
results="$(pwd)/TestResults"
rm -rf "$results"
dotnet build JobApi.sln -c Release -warnaserror --nologo -v quiet
build=$?
status=0
if [ $build -eq 0 ]; then
  dotnet test JobApi.sln -c Release --no-build --nologo --logger "trx" --results-directory "$results" "$@"
  status=$?
else
  status=$build
fi
passed=0; failed=0
for f in "$results"/*.trx; do
  [ -e "$f" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f2=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f2:-0}))
done
if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed"
[ $status -eq 0 ] && [ $failed -eq 0 ]
