#!/usr/bin/env bash
# Starts JobApi (API + Swagger UI + a worker) on http://localhost:8080 with an embedded redis-server.
# Installs redis-server first when missing. Extra arguments go to the service, e.g. --urls http://127.0.0.1:5000
set -euo pipefail
cd "$(dirname "$0")"
scripts/ensure-redis.sh
exec dotnet run --project src/JobApi -c Release -- "$@"
