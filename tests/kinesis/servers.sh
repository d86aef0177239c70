#!/usr/bin/env bash
# Local AWS wire-protocol servers for the laredo::kinesis integration tests.
#
#   tests/kinesis/servers.sh start DIR   install if needed, start kinesalite + s3rver + dynalite on
#                                        127.0.0.1 (free ports, data under DIR), print `export` lines
#   tests/kinesis/servers.sh stop DIR    stop what `start DIR` started
#
# Usage: eval "$(tests/kinesis/servers.sh start "$tmp/aws")"; ...; tests/kinesis/servers.sh stop "$tmp/aws"
# Only the export lines go to stdout; progress and errors go to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
servers="$here/servers"

die() { echo "servers.sh: $*" >&2; exit 1; }

# npm ci only when node_modules is missing or was installed from another lock file.
install_packages() {
  command -v node >/dev/null || die "node is not installed (apt-get install -y nodejs npm)"
  command -v npm >/dev/null || die "npm is not installed (apt-get install -y npm)"
  local want have=""
  want="$(sha256sum "$servers/package-lock.json" | cut -d' ' -f1)"
  [[ -f "$servers/node_modules/.laredo-lock-sha256" ]] &&
    have="$(cat "$servers/node_modules/.laredo-lock-sha256")"
  if [[ "$want" != "$have" ]]; then
    echo "servers.sh: installing kinesalite, s3rver, dynalite (npm ci)" >&2
    (cd "$servers" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
      die "npm ci failed in $servers"
    echo "$want" >"$servers/node_modules/.laredo-lock-sha256"
  fi
}

# True when something answers HTTP on 127.0.0.1:$1 (any status: these servers answer GET / with
# an error document, which is enough to know they listen).
answers() {
  node -e '
    const req = require("http").get({host: "127.0.0.1", port: +process.argv[1], path: "/",
      timeout: 1000}, (res) => { res.resume(); process.exit(0); });
    req.on("error", () => process.exit(1));
    req.on("timeout", () => { req.destroy(); process.exit(1); });' "$1" 2>/dev/null
}

start() {
  local dir="$1"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [[ -f "$dir/serve.pid" ]] && kill -0 "$(cat "$dir/serve.pid")" 2>/dev/null; then
    die "servers already running for $dir (pid $(cat "$dir/serve.pid")); stop them first"
  fi
  install_packages
  rm -f "$dir/ports.env"
  # A throw-away self-signed certificate for "localhost": the TLS tests trust it explicitly and
  # check that an untrusted one is refused.
  if command -v openssl >/dev/null && [[ ! -f "$dir/tls/cert.pem" ]]; then
    mkdir -p "$dir/tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
      -addext "subjectAltName=DNS:localhost" \
      -keyout "$dir/tls/key.pem" -out "$dir/tls/cert.pem" >/dev/null 2>&1 ||
      echo "servers.sh: could not make a TLS certificate; TLS tests will skip" >&2
  fi
  # s3rver's paginated listings use a cipher that OpenSSL 3 keeps in its legacy provider.
  NODE_OPTIONS=--openssl-legacy-provider nohup node "$servers/serve.js" "$dir" \
    >"$dir/serve.log" 2>&1 </dev/null &
  echo $! >"$dir/serve.pid"

  local pid deadline
  pid="$(cat "$dir/serve.pid")"
  deadline=$((SECONDS + 30))
  until [[ -f "$dir/ports.env" ]]; do
    kill -0 "$pid" 2>/dev/null || die "the servers exited; see $dir/serve.log: $(tail -5 "$dir/serve.log")"
    ((SECONDS < deadline)) || { stop "$dir"; die "the servers did not start within 30 s"; }
    sleep 0.1
  done
  local kinesis s3 dynamodb kinesis_tls
  kinesis="$(sed -n 's/^kinesis=//p' "$dir/ports.env")"
  kinesis_tls="$(sed -n 's/^kinesis_tls=//p' "$dir/ports.env")"
  s3="$(sed -n 's/^s3=//p' "$dir/ports.env")"
  dynamodb="$(sed -n 's/^dynamodb=//p' "$dir/ports.env")"
  for port in "$kinesis" "$s3" "$dynamodb"; do
    until answers "$port"; do
      ((SECONDS < deadline)) || { stop "$dir"; die "port $port does not answer"; }
      sleep 0.1
    done
  done
  echo "servers.sh: kinesalite :$kinesis, s3rver :$s3, dynalite :$dynamodb (pid $pid)" >&2
  # s3rver verifies SigV4 signatures against its built-in account S3RVER/S3RVER, so these dummy
  # credentials make every S3 request of the tests an end-to-end check of the signer.
  cat <<OUT
export LAREDO_KINESIS_ENDPOINT=http://127.0.0.1:$kinesis
export LAREDO_S3_ENDPOINT=http://127.0.0.1:$s3
export LAREDO_DYNAMODB_ENDPOINT=http://127.0.0.1:$dynamodb
export AWS_ACCESS_KEY_ID=S3RVER
export AWS_SECRET_ACCESS_KEY=S3RVER
export AWS_REGION=us-east-1
OUT
  if [[ -n "$kinesis_tls" ]]; then
    echo "export LAREDO_KINESIS_TLS_ENDPOINT=https://localhost:$kinesis_tls"
    echo "export LAREDO_TLS_CA_FILE=$dir/tls/cert.pem"
  fi
}

stop() {
  local dir="$1" pid
  [[ -f "$dir/serve.pid" ]] || return 0
  pid="$(cat "$dir/serve.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/serve.pid" "$dir/ports.env"
}

case "${1:-}" in
  start) [[ $# -eq 2 ]] || die "usage: $0 start DIR"; start "$2" ;;
  stop) [[ $# -eq 2 ]] || die "usage: $0 stop DIR"; stop "$2" ;;
  *) die "usage: $0 start|stop DIR" ;;
esac
