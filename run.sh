#!/usr/bin/env bash
# Starts JobApi (API + Swagger UI + a worker) on http://localhost:8080 with an embedded redis-server.
# Installs redis-server first when missing. Extra arguments go to the service, e.g. --urls http://127.0.0.1:5000
set -euo pipefail
cd "$(dirname "$0")"
scripts/ensure-redis.sh
# DOTNET_ReadyToRun=0: the framework's code is compiled, optimized, at its first call instead of used precompiled
# (src/JobApi/ServiceRuntime.props and docs/PERFORMANCE.md say why); -e sets it for the service, not for the build.
exec dotnet run --project src/JobApi -c Release -e DOTNET_ReadyToRun=0 -- "$@"
