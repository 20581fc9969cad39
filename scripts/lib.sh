# Shared by scripts/demo, scripts/test and scripts/bench: Debian packages and the Swift toolchain.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"

# Installs the named Debian packages that are missing (apt-get update once, then install), as root, non-interactively.
ensure_packages() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "Missing Debian packages: ${missing[*]}" >&2
        echo "Run as root, or install them: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "Installing: ${missing[*]}"
    if [ -z "${SSO_APT_UPDATED:-}" ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        export SSO_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Package scripts may start the distribution's own services; the project starts its own on loopback ports.
    for svc in nginx apache2 memcached; do
        if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet "$svc" 2>/dev/null; then
            systemctl stop "$svc" >/dev/null 2>&1 || true
        fi
    done
}

# Build dependencies (C libraries and tools) shared by every script.
BUILD_PACKAGES=(libfcgi-dev libmemcached-dev libssl-dev libcrypt-dev pkg-config openssl)
# What the running stack needs.
RUNTIME_PACKAGES=(nginx memcached python3)

require_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        echo "Swift is not on PATH (expected at /opt/swift/usr/bin)." >&2
        exit 1
    fi
}
