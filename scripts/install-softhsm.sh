#!/usr/bin/env bash
# Install SoftHSM2 (the PKCS#11 token the conformance tests compare the CloudHSM emulator
# against) from Debian when it is missing. Idempotent and quiet; needs root for apt-get.
set -euo pipefail

find_module() {
    local candidate
    for candidate in \
        /usr/lib/softhsm/libsofthsm2.so \
        /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
        /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so; do
        if [ -e "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if command -v softhsm2-util >/dev/null 2>&1 && find_module >/dev/null; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-softhsm.sh: run as root (apt-get install -y softhsm2)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Keep apt quiet, but show what it said when it fails.
if ! { apt-get update -qq && apt-get install -y -qq softhsm2; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-softhsm.sh: apt-get failed" >&2
    exit 1
fi

if ! find_module >/dev/null; then
    echo "install-softhsm.sh: softhsm2 installed but libsofthsm2.so was not found" >&2
    exit 1
fi
