#!/usr/bin/env bash
# make bench: benchmarks, printed as tables and written to
# bench/results/latest.json (the keys of issue 8). Never part of make check.
#   control      the engine alone at three sizes (bench_control)
#   programming  the agent's change -> cache -> compile -> delta -> commit
#                path into a node namespace with 1,000 veths (bench_program)
#   datapath     two pods on one node, no netpol table vs 1,000 policies and
#                10,000 peer pods, and vs 1 policy (does the cost per packet
#                grow with policies?), alternating runs (iperf3, bench_traffic)
#   reach        the offline matrix, whole command (netpol reach)
# The kernel parts need root; they use only namespaces made here (unique
# names, removed on exit, also on failure).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/wait.sh
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}        # reach: runs per figure (median)
ROUNDS=${ROUNDS:-3}    # datapath: alternating baseline/policy rounds (median)
B=$BUILD/bench
tmp=$(mktemp -d)
node=bn$$ cli=bc$$ srv=bs$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in $node $cli $srv; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (network namespaces)" >&2; exit 1; }
command -v iperf3 >/dev/null || { echo "bench: iperf3 missing (scripts/setup.sh installs it)" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
time_cmd() {
  local t0 t1
  t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

# ---- control ------------------------------------------------------------------
echo "control: engine only (index build, then 1,000 changes of each kind)" >&2
printf '%-7s %-8s %-9s %-7s %-19s %-19s %-19s\n' pods policies build_ms rss_mb \
  "label p50/p99 us" "pod_add p50/p99 us" "pol_add p50/p99 us" >&2
control=()
for spec in 1000:100 10000:1000 100000:10000; do
  j=$("$B/bench_control" "${spec%%:*}" "${spec##*:}" 1000 2>/dev/null)
  control+=("$j")
  jq -r '"\(.pods) \(.policies) \(.full_build_ms) \(.rss_mb) \(.label_change_us.p50)/\(.label_change_us.p99) \(.pod_add_us.p50)/\(.pod_add_us.p99) \(.policy_add_us.p50)/\(.policy_add_us.p99)"' <<<"$j" |
    xargs printf '%-7s %-8s %-9s %-7s %-19s %-19s %-19s\n' >&2
done

# ---- programming ----------------------------------------------------------------
echo "programming: node namespace, 1,000 local endpoints, 10,000 remote pods, 1,000 policies" >&2
ip netns add $node
for i in $(seq 0 1099); do printf 'link add npb%04d type veth peer name pb%04d\n' "$i" "$i"; done |
  ip -n $node -batch -
prog=$("$B/bench_program" program /run/netns/$node 1000 10000 1000 1000 100)
jq -r '.programming | "full \(.full_program_ms) ms, apply p50 \(.apply_ms.p50) ms p99 \(.apply_ms.p99) ms over \(.changes) changes, \(.nft_rules) rules, \(.nft_set_elements) set elements"' <<<"$prog" >&2
jq -r '.pod_policy_ready_ms | "pod policy ready: p50 \(.p50) ms p99 \(.p99) ms over \(.pods) pods"' <<<"$prog" >&2
ip netns del $node

# ---- datapath -----------------------------------------------------------------------
echo "datapath: two pods on one node; baseline (no table) vs 1,000 policies, 10,000 members" >&2
ip netns add $node; ip netns add $cli; ip netns add $srv
ip netns exec $node sysctl -qw net.ipv4.ip_forward=1
pod_link() { # pod netns, node-side name, address
  ip -n $node link add "$2" type veth peer name eth0 netns "$1"
  ip -n "$1" link set lo up; ip -n "$1" link set eth0 up
  ip -n "$1" addr add "$3/32" dev eth0
  ip -n "$1" route add 169.254.1.1 dev eth0
  ip -n "$1" route add default via 169.254.1.1 dev eth0
  ip -n $node addr add 169.254.1.1/32 dev "$2"   # the pods' gateway, answered by ARP
  ip -n $node link set "$2" up
  ip -n $node route add "$3/32" dev "$2"
}
pod_link $cli npc0 198.18.0.2
pod_link $srv nps0 198.18.0.3
ip netns exec $srv iperf3 -s -p 5201 > /dev/null 2>&1 & pids+=($!)
ip netns exec $srv "$B/bench_traffic" serve 9000 & pids+=($!)
listening() { ip netns exec $srv ss -Hln"$1" | grep -q ":$2 "; } # t|u PORT
{ wait_for 30 listening t 5201 && wait_for 30 listening t 9001 && wait_for 30 listening u 9000; } ||
  { echo "bench: servers did not start" >&2; exit 1; }
load_policy() { # POLICIES MEMBERS
  ip netns exec $node nft delete table inet netpol 2>/dev/null || true
  "$B/bench_program" datapath /run/netns/$node npc0 198.18.0.2 nps0 198.18.0.3 "$1" "$2"
}
unload_policy() { ip netns exec $node nft delete table inet netpol 2>/dev/null || true; }
measure() { # mode -> appends to $tmp/<mode>.{tcp,conn,udp}
  ip netns exec $cli iperf3 -c 198.18.0.3 -p 5201 -t 3 -J |
    jq '.end.sum_received.bits_per_second / 1e9' >> "$tmp/$1.tcp"
  ip netns exec $cli "$B/bench_traffic" conn 198.18.0.3 9000 2 >> "$tmp/$1.conn"
  ip netns exec $cli "$B/bench_traffic" udp 198.18.0.3 9000 2 >> "$tmp/$1.udp"
}
counts=""
for r in $(seq "$ROUNDS"); do
  unload_policy; measure baseline
  # the same two pods with one policy: the cost per packet must not grow
  # with the number of policies (1,000 vs 1)
  load_policy 1 10 > /dev/null; measure policy1
  counts=$(load_policy 1000 10000); measure policy
  echo "  round $r done" >&2
done
# the measured flow must have met the last policy's rule (its allow chain)
hits=$(ip netns exec $node nft list chain inet netpol in/bench/pol-0999/r0/p0/qany | grep -o 'packets [0-9]*' | awk '{s+=$2} END {print s+0}')
unload_policy
ratio() { awk -v b="$1" -v p="$2" 'BEGIN { printf "%.4f", p / b }'; }
dp_json='{"policies":1000,"set_members":10000'
printf '%-10s %-12s %-12s %-7s %-12s %-9s\n' metric baseline "1000 pol" ratio "1 policy" "1000 vs 1" >&2
for m in tcp:tcp_gbps conn:conn_per_s udp:udp_pps; do
  b=$(median < "$tmp/baseline.${m%%:*}") p=$(median < "$tmp/policy.${m%%:*}")
  p1=$(median < "$tmp/policy1.${m%%:*}")
  q=$(ratio "$b" "$p") q1=$(ratio "$p1" "$p")
  printf '%-10s %-12s %-12s %-7s %-12s %-9s\n' "${m##*:}" "$b" "$p" "$q" "$p1" "$q1" >&2
  dp_json+=$(printf ',"%s":{"baseline":%s,"policy":%s,"ratio":%s,"one_policy":%s,"policy_vs_one_policy":%s}' \
    "${m##*:}" "$b" "$p" "$q" "$p1" "$q1")
done
dp_json+=$(printf ',"nft_rules":%s,"nft_set_elements":%s,"last_policy_packets":%s,"rounds":%s}' ${counts:-0 0} "$hits" "$ROUNDS")
echo "  (rules/elements loaded: ${counts:-?}; packets accepted by the last policy: $hits)" >&2

# ---- reach ------------------------------------------------------------------------
reach_row() {
  local pods=$1 policies=$2
  "$B/gen_cluster" "$pods" "$policies" > "$tmp/c.yaml"
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

# ---- the file -----------------------------------------------------------------------
mkdir -p bench/results
machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
{
  printf '{\n  "control": [%s],\n' "$(IFS=,; echo "${control[*]}")"
  printf '  "programming": %s,\n' "$(jq -c .programming <<<"$prog")"
  printf '  "datapath": %s,\n' "$dp_json"
  printf '  "pod_policy_ready_ms": %s,\n' "$(jq -c .pod_policy_ready_ms <<<"$prog")"
  printf '  "reach": %s,\n  "reach_sizes": [%s],\n' "${sizes[1]}" "$(IFS=,; echo "${sizes[*]}")"
  printf '  "machine": "%s",\n  "date": "%s",\n  "command": "make bench"\n}\n' "$machine" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$tmp/latest.json"
# latest.json: exactly the keys issue 8 names; details.json: everything measured
jq . "$tmp/latest.json" > bench/results/details.json
jq '
  def pq: {p50, p99};
  def bpr: {baseline, policy, ratio};
  { control: [.control[] | {pods, policies, full_build_ms, rss_mb,
                            label_change_us: (.label_change_us | pq),
                            pod_add_us: (.pod_add_us | pq),
                            policy_add_us: (.policy_add_us | pq)}],
    programming: (.programming | {endpoints, remote_pods, policies, full_program_ms,
                                  apply_ms: (.apply_ms | pq), nft_rules, nft_set_elements}),
    datapath: (.datapath | {policies, set_members, tcp_gbps: (.tcp_gbps | bpr),
                            conn_per_s: (.conn_per_s | bpr), udp_pps: (.udp_pps | bpr)}),
    pod_policy_ready_ms: (.pod_policy_ready_ms | pq),
    reach: (.reach | {pods, policies, verdicts, seconds}),
    machine, date, command }' "$tmp/latest.json" > bench/results/latest.json
echo "wrote bench/results/latest.json (and details.json)" >&2
