#!/usr/bin/env bash
# Golden tests for the CLI: each cases/NAME/ holds `cmd` (the arguments to
# netpol, one line, run from the repository root with word splitting) and
# `expected` (stdout, then stderr, then the exit status, as written by
# this script). UPDATE=1 rewrites the expected files.
set -uo pipefail
cd "$(dirname "$0")/../.."
NETPOL=${NETPOL:-build/netpol}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for dir in tests/golden/cases/*/; do
  name=$(basename "$dir")
  read -r -a args < "$dir/cmd"
  stdin=/dev/null
  [ -f "$dir/stdin" ] && stdin="$dir/stdin"
  "$NETPOL" "${args[@]}" < "$stdin" > "$tmp/out" 2> "$tmp/err"
  rc=$?
  { echo "--- stdout"; cat "$tmp/out"; echo "--- stderr"; cat "$tmp/err"; echo "--- exit $rc"; } > "$tmp/actual"
  if [ "${UPDATE:-}" = 1 ]; then
    cp "$tmp/actual" "$dir/expected"
  fi
  if diff -u "$dir/expected" "$tmp/actual" > "$tmp/diff" 2>&1; then
    echo "PASS $name"
  else
    echo "FAIL $name: output differs from $dir/expected"
    head -n 60 "$tmp/diff"
  fi
done
