#!/usr/bin/env bash
# Install Debian's wrk (HTTP load generator for `make bench`) when it is missing.
set -eu
command -v wrk >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "error: wrk is missing; install it with: sudo apt-get install -y wrk" >&2
  exit 1
fi
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
