#!/usr/bin/env bash
# make bench: benchmarks, printed as a table and written to
# bench/results/latest.json. Never part of make check.
# Today: the offline reach matrix (issue 2). Each figure is the median of
# RUNS runs of the whole command (decode + index + matrix + output).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# time_cmd CMD...: seconds of wall time for one run
time_cmd() {
  local t0 t1
  t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

reach_row() {
  local pods=$1 policies=$2
  "$BUILD/bench/gen_cluster" "$pods" "$policies" > "$tmp/c.yaml"
  local json table
  json=$(for _ in $(seq "$RUNS"); do time_cmd "$BUILD/netpol" reach -f "$tmp/c.yaml" --ports 8080/TCP -o json; done | median)
  table=$(for _ in $(seq "$RUNS"); do time_cmd "$BUILD/netpol" reach -f "$tmp/c.yaml" --ports 8080/TCP -o table; done | median)
  local verdicts=$((pods * (pods - 1)))
  printf '%-8s %-9s %-10s %-12.3f %-12.3f\n' "$pods" "$policies" "$verdicts" "$json" "$table" >&2
  printf '{"pods":%d,"policies":%d,"verdicts":%d,"seconds":%.4f,"seconds_table":%.4f}' \
    "$pods" "$policies" "$verdicts" "$json" "$table"
}

echo "reach: the full single-port matrix, whole command, median of $RUNS runs" >&2
printf '%-8s %-9s %-10s %-12s %-12s\n' pods policies verdicts "json (s)" "table (s)" >&2
sizes=()
for spec in 100:20 1000:200 2000:400; do
  sizes+=("$(reach_row "${spec%%:*}" "${spec##*:}")")
done
main=${sizes[1]}
mkdir -p bench/results
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
{
  printf '{\n  "reach": %s,\n  "reach_sizes": [%s],\n' "$main" "$(IFS=,; echo "${sizes[*]}")"
  printf '  "machine": "%s",\n  "date": "%s",\n  "command": "make bench"\n}\n' "$machine" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > bench/results/latest.json
echo "wrote bench/results/latest.json" >&2
