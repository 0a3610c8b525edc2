#!/usr/bin/env bash
# Runs every test suite and prints one line per test, then the totals:
#   "N passed, N failed"
# A suite is a program that prints "PASS name" / "FAIL name: why" lines.
# A suite that exits non-zero without printing a FAIL line counts as one
# failure, so a crash can never pass silently.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
BUILD_ASAN=${BUILD_ASAN:-build-asan}
BUILD_FUZZ=${BUILD_FUZZ:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

passed=0
failed=0
failures=()

# run_suite LABEL CMD...: runs CMD, prefixes its result lines with LABEL.
run_suite() {
  local label=$1; shift
  local out rc line nfail=0
  out=$("$@" 2>&1); rc=$?
  while IFS= read -r line; do
    case "$line" in
      PASS\ *) passed=$((passed + 1)); echo "PASS $label/${line#PASS }" ;;
      FAIL\ *) failed=$((failed + 1)); nfail=$((nfail + 1))
               failures+=("$label/${line#FAIL }"); echo "FAIL $label/${line#FAIL }" ;;
    esac
  done <<< "$out"
  if [ $rc -ne 0 ] && [ $nfail -eq 0 ]; then
    failed=$((failed + 1))
    failures+=("$label: exited $rc")
    echo "FAIL $label: exited $rc"
    echo "$out" | tail -n 30 | sed 's/^/    /'
  elif [ $nfail -gt 0 ]; then
    echo "$out" | grep -v '^PASS ' | grep -v '^FAIL ' | tail -n 30 | sed 's/^/    /'
  fi
}

# 1. unit tests, plain and under ASan+UBSan
for dir in "$BUILD" "$BUILD_ASAN"; do
  for t in $(find "$dir/tests" -name 'test_*' -type f -executable 2>/dev/null | sort); do
    run_suite "$(basename "$dir")/$(basename "$t")" "$t"
  done
done

# 2. suites driven through the CLI (golden files, upstream fixtures, ...)
for s in tests/*/suite.sh; do
  [ -x "$s" ] || continue
  run_suite "$(basename "$(dirname "$s")")" env NETPOL="$PWD/$BUILD/netpol" "$s"
done

# 3. fuzz targets, FUZZ_SECONDS each, from their seed corpora
for f in "$BUILD_FUZZ"/fuzz/fuzz_*; do
  [ -f "$f" ] && [ -x "$f" ] || continue
  name=$(basename "$f")
  corpus=$(mktemp -d)
  [ -d "fuzz/corpus/${name#fuzz_}" ] && cp -r "fuzz/corpus/${name#fuzz_}/." "$corpus/"
  run_suite fuzz sh -c "cd '$corpus' && '$PWD/$f' -max_total_time=$FUZZ_SECONDS -timeout=5 -rss_limit_mb=2048 '$corpus' >log 2>&1 && echo 'PASS $name' || { echo 'FAIL $name: see crash below'; tail -n 40 log; }"
  rm -rf "$corpus"
done

if [ ${#failures[@]} -gt 0 ]; then
  echo
  echo "failures:"
  printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
