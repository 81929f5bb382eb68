#!/usr/bin/env bash
# Installs redis-server and redis-tools (and openssl, which the Redis TLS test uses to make its certificates)
# with apt-get when they are not on PATH.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then exit 0; fi
echo "redis-server or openssl not found; installing them with apt-get" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools openssl >/dev/null
# The Debian package starts a system service on 6379; JobApi never uses it, so leave it as the system wants.
command -v redis-server >/dev/null
command -v openssl >/dev/null
