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
    # The packages' own services (nginx and Apache both want port 80) must not start during the install: a failed
    # start would fail the install. policy-rc.d answering 101 is Debian's way to say so; the project starts its own
    # servers on loopback ports.
    local policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
    [ -n "$policy" ] && rm -f "$policy"
    [ "$rc" -eq 0 ] || { echo "apt-get install failed ($rc)" >&2; exit "$rc"; }
}

# Build dependencies (C libraries and tools) shared by every script.
BUILD_PACKAGES=(libfcgi-dev libmemcached-dev libssl-dev libcrypt-dev libyaml-dev pkg-config openssl)
# What the running stack needs.
RUNTIME_PACKAGES=(nginx memcached python3 python3-yaml)
# LemonLDAP::NG for `scripts/bench --peer llng`: the list at the top of ../shared/peers/llng/bench.sh (its portal
# initialises with the Debian demo config only with GD::SecurityImage, Image::Magick and Email::Sender).
PEER_LLNG_PACKAGES=(lemonldap-ng-fastcgi-server lemonldap-ng-handler liblemonldap-ng-portal-perl
    libapache-session-memcached-perl libcache-memcached-perl libgd-securityimage-perl libimage-magick-perl
    libemail-sender-perl libhttp-parser-xs-perl libcookie-baker-xs-perl libapache-session-browseable-perl libdbi-perl
    libstring-random-perl fonts-urw-base35 libauthen-webauthn-perl libconvert-base32-perl libio-string-perl
    libipc-run-perl libmime-tools-perl libnet-ldap-perl libio-socket-timeout-perl libunicode-string-perl)

# The release build the Debian package ships (scripts/package) and scripts/bench measures: the Swift runtime linked in
# (--static-swift-stdlib), BIND_NOW and RELRO (Debian's hardening for a program that faces the network). In its own
# folder, so that switching between it and the development builds in .build never rebuilds either from scratch.
PACKAGE_BUILD_FLAGS=(-c release --static-swift-stdlib --scratch-path "$ROOT/.build-static"
                     -Xlinker -z -Xlinker now -Xlinker -z -Xlinker relro)

require_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        echo "Swift is not on PATH (expected at /opt/swift/usr/bin)." >&2
        exit 1
    fi
}
