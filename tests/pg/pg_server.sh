#!/usr/bin/env bash
# Starts and stops a throwaway PostgreSQL 15 for the pg-integration tests.
#
#   eval "$(tests/pg/pg_server.sh start DIR)"   # prints `export LAREDO_PG_CONNINFO=...`
#   tests/pg/pg_server.sh stop DIR
#   tests/pg/pg_server.sh halt DIR              # immediate shutdown, like a crash (DIR is kept)
#   tests/pg/pg_server.sh resume DIR            # starts a halted server again (same port)
#   tests/pg/pg_server.sh crash-restart DIR     # halt, then resume
#
# `start` wipes DIR, runs initdb as a non-root user (the `postgres` OS user when run as root),
# configures logical replication on 127.0.0.1 with a free port and a Unix socket inside DIR,
# creates a password-authenticated superuser (scram-sha-256 on TCP, so the conninfo's password is
# really used), and prints shell export lines. Everything else goes to stderr.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [[ -z "$cmd" || -z "$dir" ]]; then
  echo "usage: $0 start|stop|halt|resume|crash-restart DIR" >&2
  exit 2
fi

find_bindir() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" ]] && { echo "$d"; return; }
  done
  command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
  echo "pg_server.sh: no initdb found (install postgresql-15)" >&2
  exit 1
}
bindir=$(find_bindir)

# Runs a PostgreSQL binary as the owner of the data directory.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

stop_server() {
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
  fi
}

free_port() {
  python3 - <<'EOF' 2>/dev/null && return
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
  # No python: probe upwards from a pid-derived port.
  local p=$((20000 + $$ % 20000))
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

case "$cmd" in
  halt)
    # Like a crash: every backend is ended at once; the next start recovers from WAL.
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 60 stop >&2
    ;;
  resume)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >&2
    ;;
  crash-restart)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m immediate -w -t 60 \
      restart >&2
    ;;
  stop)
    stop_server
    rm -rf "$dir"
    ;;
  start)
    stop_server
    rm -rf "$dir"
    mkdir -p "$dir/data" "$dir/socket"
    if [[ $(id -u) -eq 0 ]]; then
      chown -R postgres: "$dir"
      # The owner must be able to reach DIR through its parents.
      chmod o+x "$(dirname "$dir")" 2>/dev/null || true
    fi
    password="laredo_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
    user=laredo_test
    pwfile="$dir/pwfile"
    echo "$password" >"$pwfile"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$pwfile"
    as_owner "$bindir/initdb" -D "$dir/data" -U "$user" --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >&2
    rm -f "$pwfile"
    port=$(free_port)
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir/socket'
wal_level = logical
max_replication_slots = 40
max_wal_senders = 40
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
wal_sender_timeout = 60s
logging_collector = off
log_min_messages = warning
EOF
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >&2
    echo "export LAREDO_PG_CONNINFO='host=127.0.0.1 port=$port user=$user password=$password dbname=postgres'"
    echo "export LAREDO_PG_DIR='$dir'"
    ;;
  *)
    echo "usage: $0 start|stop|halt|resume|crash-restart DIR" >&2
    exit 2
    ;;
esac
