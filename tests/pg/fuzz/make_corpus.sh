#!/usr/bin/env bash
# Writes a seed corpus for pgoutput_fuzz: every recorded fixture message, alone and wrapped in
# an XLogData header. Usage: make_corpus.sh OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: make_corpus.sh OUT_DIR}
mkdir -p "$out"
n=0
for fixture in "$here"/../fixtures/*.txt; do
  while read -r _lsn _xid hex; do
    [ ${#hex} -le 8192 ] || continue  # the 100 kB TOAST insert would only slow the fuzzer down
    n=$((n + 1))
    printf '%s' "$hex" | xxd -r -p >"$out/msg-$n"
    # 'w' + WAL start + WAL end + send time (all 1), then the message.
    { printf 'w'; printf '%s' 000000000000000100000000000000010000000000000001 | xxd -r -p
      printf '%s' "$hex" | xxd -r -p; } >"$out/xlog-$n"
  done < <(grep -v '^#' "$fixture")
done
{ printf 'k'; printf '%s' 00000000000000010000000000000001 | xxd -r -p; printf '\001'; } \
  >"$out/keepalive"
echo "wrote $((n * 2 + 1)) files to $out"
