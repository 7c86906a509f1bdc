#!/usr/bin/env bash
# setup.sh - installs every Debian and npm package that tinylm's build and
# tests need, on a fresh Debian 12 machine, as root.  Idempotent and quick
# when everything is already there, so `make demo` and `make test` call it
# every time.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake pkg-config git clang libclang-rt-14-dev
  libpcre2-dev libutf8proc-dev libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev zlib1g-dev
  bubblewrap python3 python3-jinja2 curl ca-certificates chromium fonts-noto-cjk
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup: installing nodejs and npm"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi

# npm packages: the reference tokenizers (and, later, API clients) that tests
# compare against.  The lock file pins versions; reinstall only on change.
if [ ! -f node_modules/.tlm-stamp ] || [ package-lock.json -nt node_modules/.tlm-stamp ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.tlm-stamp
fi
