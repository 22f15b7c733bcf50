#!/usr/bin/env bash
# Installs every Debian package that the build, the tests, the demo and the
# benchmarks need. Idempotent, and quick when everything is already there.
set -euo pipefail

PKGS=(
  # toolchain
  build-essential clang lld llvm libclang-rt-14-dev pkg-config
  # libraries
  libsodium-dev libb2-dev libssl-dev libmnl-dev libnftables-dev libnftnl-dev
  libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev libgnutls28-dev libsqlite3-dev libpq-dev libslirp-dev liblwip-dev libcmocka-dev zlib1g-dev
  # peers and tools for the end-to-end tests, the demo and the benchmarks
  wireguard-go wireguard-tools iperf3 coturn dnsmasq-base nftables iproute2
  iputils-ping curl openssl procps kmod jq python3 conntrack groff-base systemd debhelper dpkg-dev
  # the web UI's browser test (tests/web, tests/e2e/test_web_ui.sh)
  chromium
  # the API suite on PostgreSQL (each test runs its own server with these binaries)
  postgresql
)

# Node.js and npm for the browser test: only when `node` is missing. A
# machine may have node from another source that bundles npm and conflicts
# with Debian's npm package (installing that would replace its nodejs).
if ! command -v node >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
  PKGS+=(npm)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
