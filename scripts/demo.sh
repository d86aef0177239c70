#!/usr/bin/env bash
# Installs what laredo needs, builds the demo and runs it. It ends by itself after
# LAREDO_DEMO_SECONDS (default 15) or on Ctrl-C.
#
# - No configuration: starts a throwaway PostgreSQL 15 (tests/pg/pg_server.sh: initdb in a
#   temporary directory, 127.0.0.1 only), replicates a sample table while writing to it from a
#   second connection, and removes the server on exit.
# - LAREDO_DEMO_CONNINFO='host=... dbname=... user=...' LAREDO_DEMO_TABLES=schema.table,...:
#   replicates your own tables instead (read only; a TEMPORARY slot, and a publication
#   "laredo_demo_pub" unless LAREDO_DEMO_PUBLICATION names an existing one).
# - If PostgreSQL cannot be started, runs the in-memory demo instead.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source scripts/setup.sh
build=${LAREDO_BUILD_DIR:-$root/build-demo}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLAREDO_BUILD_TESTS=OFF \
  -DLAREDO_BUILD_BENCH=OFF -DLAREDO_WITH_KINESIS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target laredo_pg_demo laredo_demo >/dev/null

if [[ -n "${LAREDO_DEMO_CONNINFO:-}" ]]; then
  exec "$build/examples/laredo_pg_demo"
fi

server_dir=$(mktemp -d /tmp/laredo-demo-pg.XXXXXX)
server_log=$server_dir.log
stop_server() {
  tests/pg/pg_server.sh stop "$server_dir" 2>/dev/null || true
  rm -f "$server_log"
}
trap stop_server EXIT
# The demo handles Ctrl-C itself and prints its summary; then the script exits and stops the server.
trap 'exit 130' INT
trap 'exit 143' TERM HUP

echo "demo: starting a throwaway PostgreSQL in $server_dir" >&2
if server_env=$(tests/pg/pg_server.sh start "$server_dir" 2>"$server_log"); then
  eval "$server_env"
  "$build/examples/laredo_pg_demo"
else
  echo "demo: PostgreSQL did not start; running the in-memory demo instead. Server log:" >&2
  tail -n 20 "$server_log" >&2 || true
  "$build/examples/laredo_demo"
fi
