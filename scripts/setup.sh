#!/usr/bin/env bash
# Installs what laredo needs to build and test on Debian 12, idempotently: only missing packages
# are installed, and `apt-get update` runs only when something is missing. Run as root (or with
# sudo available). Sourced by demo.sh and test.sh.
set -euo pipefail

laredo_packages=(
  build-essential cmake g++ pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  libfmt-dev libspdlog-dev nlohmann-json3-dev
  libpq-dev libssl-dev zlib1g-dev libboost1.81-dev
  postgresql-15 postgresql-client-15 openssl
  # promtool checks the metrics exposition; the prometheus server scrapes laredo::http in tests.
  prometheus curl
)

laredo_install_packages() {
  local missing=()
  local p
  for p in "${laredo_packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  # Node.js and npm run the S3/Kinesis/DynamoDB test servers; any recent Node will do.
  if ! command -v node >/dev/null 2>&1; then missing+=(nodejs); fi
  if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  echo "setup: installing ${missing[*]}" >&2
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

laredo_install_packages
