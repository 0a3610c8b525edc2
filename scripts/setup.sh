#!/usr/bin/env bash
# Installs the Debian packages netpol needs to build and test, when missing.
# Idempotent and quiet when everything is there already.
set -euo pipefail

pkgs=(
  gcc make pkg-config meson ninja-build
  libyaml-dev libjansson-dev libsqlite3-dev libmicrohttpd-dev libgnutls28-dev libcurl4-gnutls-dev
  libnftables-dev nftables libmnl-dev iproute2 conntrack
  clang libclang-rt-14-dev      # libFuzzer targets
  nginx dnsmasq-base dpkg-dev   # lab images; busybox is built from source
  jq bc iperf3                  # JSON in tests and the demo; bench arithmetic and bandwidth
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
