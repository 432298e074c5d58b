#!/usr/bin/env bash
# Install the PKCS #11 tools the tests drive, from Debian, when any is missing: SoftHSM2 (the
# token the conformance tests compare the CloudHSM emulator against), p11-kit's client module
# (p11-kit-client.so, which real PKCS #11 applications load to reach the emulated cluster),
# p11-kit itself, OpenSC's pkcs11-tool and libp11's OpenSSL engine. Idempotent and quiet; needs root for apt-get.
set -euo pipefail

MULTIARCH="$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)"

have_everything() {
    command -v softhsm2-util >/dev/null 2>&1 &&
        command -v pkcs11-tool >/dev/null 2>&1 &&
        command -v p11-kit >/dev/null 2>&1 &&
        { [ -e /usr/lib/softhsm/libsofthsm2.so ] || [ -e "/usr/lib/$MULTIARCH/softhsm/libsofthsm2.so" ]; } &&
        [ -e "/usr/lib/$MULTIARCH/pkcs11/p11-kit-client.so" ] &&
        [ -e "/usr/lib/$MULTIARCH/engines-3/pkcs11.so" ]
}

if have_everything; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-pkcs11-tools.sh: run as root (apt-get install -y softhsm2 p11-kit p11-kit-modules opensc libengine-pkcs11-openssl)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Keep apt quiet, but show what it said when it fails.
if ! { apt-get update -qq && apt-get install -y -qq softhsm2 p11-kit p11-kit-modules opensc libengine-pkcs11-openssl; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-pkcs11-tools.sh: apt-get failed" >&2
    exit 1
fi

if ! have_everything; then
    echo "install-pkcs11-tools.sh: packages installed but a module or tool was not found" >&2
    exit 1
fi
