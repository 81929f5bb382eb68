#!/usr/bin/env bash
# Installs redis-server and redis-tools with apt-get when redis-server is not on PATH.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then exit 0; fi
echo "redis-server not found; installing it with apt-get" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
# The Debian package starts a system service on 6379; JobApi never uses it, so leave it as the system wants.
command -v redis-server >/dev/null
