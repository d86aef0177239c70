#!/usr/bin/env bash
# Installs what laredo needs, builds the demo and runs it. It ends by itself after
# LAREDO_DEMO_SECONDS (default 10) or on Ctrl-C.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source scripts/setup.sh
build=${LAREDO_BUILD_DIR:-$root/build-demo}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLAREDO_BUILD_TESTS=OFF \
  -DLAREDO_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target laredo_demo >/dev/null
exec "$build/examples/laredo_demo"
