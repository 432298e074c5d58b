#!/usr/bin/env bash
# Install Debian's chromium for the browser tests when it is missing (never a downloaded build).
set -eu
if command -v chromium >/dev/null 2>&1 || [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "error: chromium is missing; install it with: sudo apt-get install -y chromium" >&2
  exit 1
fi
echo "Installing Debian chromium for the browser tests..."
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
