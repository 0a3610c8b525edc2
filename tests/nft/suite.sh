#!/usr/bin/env bash
# Kernel tests of the nftables dataplane. Everything happens inside
# throwaway network namespaces named npt-nft-<pid>-*, deleted on exit; the
# root namespace's ruleset is never touched (nft-ktest refuses to run
# outside the namespace named by $NPT_NETNS).
#
#   1. nft-ktest: load/list-back of every golden program, deltas,
#      convergence, atomicity, programming another namespace.
#   2. traffic: a node namespace with the tutorial's program and four pod
#      namespaces on veths; every pair of pods on every port must pass or
#      fail exactly as the engine (the offline `netpol` answer) says,
#      before and after an incremental change; a pod interface without a
#      program is dropped; a spoofed source is dropped; counters name the
#      rules that decided.
set -uo pipefail
cd "$(dirname "$0")/../.."
# run the whole suite through a filter so that the exit status says
# whether any FAIL line was printed
if [ -z "${NFT_SUITE_INNER:-}" ]; then
  out=$(NFT_SUITE_INNER=1 bash "${BASH_SOURCE[0]}" "$@" 2>&1)
  echo "$out"
  ! grep -q '^FAIL ' <<< "$out"
  exit
fi
BUILD=$(dirname "${NETPOL:-build/netpol}")
KTEST=${NFT_KTEST:-$BUILD/tests/nft/nft-ktest}
CASE=tests/nft/golden/tutorial.yaml
P=npt-nft-$$
NODE=$P-node
pids=()

if [ "$(id -u)" != 0 ] || ! ip netns add "$P-probe" 2>/dev/null; then
  echo "SKIP nft kernel tests: network namespaces unavailable (needs root)"
  exit 0
fi
ip netns del "$P-probe"
if [ ! -x "$KTEST" ]; then
  echo "FAIL nft/kernel: $KTEST not built"
  exit 1
fi

cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
}
trap cleanup EXIT

# ---- 1. the kernel tests of nft-ktest -----------------------------------------
ip netns add "$P-k" && ip netns add "$P-k2" || { echo "FAIL nft/kernel: netns"; exit 1; }
out=$(NPT_NETNS=$P-k NPT_NETNS2=$P-k2 ip netns exec "$P-k" "$KTEST" 2>&1); rc=$?
echo "$out"
if [ $rc -ne 0 ] && ! grep -q '^FAIL ' <<< "$out"; then
  echo "FAIL nft-ktest: exited $rc"
fi

# ---- 2. traffic ---------------------------------------------------------------------
in_node() { NPT_NETNS=$NODE ip netns exec "$NODE" "$@"; }

# pod NAME IP IFNAME: a namespace wired to the node as the lab does it
pod() {
  local ns=$P-$1
  ip netns add "$ns" &&
  ip -n "$NODE" link add "$3" type veth peer name eth0 netns "$ns" &&
  ip -n "$ns" link set lo up && ip -n "$ns" link set eth0 up &&
  ip -n "$ns" addr add "$2/32" dev eth0 &&
  ip -n "$ns" route add 169.254.1.1 dev eth0 scope link &&
  ip -n "$ns" route add default via 169.254.1.1 dev eth0 &&
  ip -n "$NODE" link set "$3" up &&
  ip -n "$NODE" addr add 169.254.1.1/32 dev "$3" &&
  ip -n "$NODE" route add "$2/32" dev "$3"
}

serve() { # POD PROTO PORT
  ip netns exec "$P-$1" "$KTEST" serve "$2" "$3" & pids+=($!)
}

# wait_up IP PORT: from the node (its own traffic is not forwarded, so no policy)
wait_up() {
  for _ in $(seq 50); do
    ip netns exec "$NODE" "$KTEST" connect tcp "$1" "$2" && return 0
    sleep 0.1
  done
  return 1
}

ip netns add "$NODE" && ip -n "$NODE" link set lo up &&
  ip netns exec "$NODE" sysctl -qw net.ipv4.ip_forward=1 || { echo "FAIL nft/traffic: node"; exit 1; }
declare -A IP=([nginx-1]=198.18.0.2 [nginx-2]=198.18.0.3 [access]=198.18.0.4 [kube-dns]=198.18.0.10
               [stranger]=198.18.0.50)
declare -A NSOF=([nginx-1]=advanced-policy-demo [nginx-2]=advanced-policy-demo
                 [access]=advanced-policy-demo [kube-dns]=kube-system)
pod nginx-1 198.18.0.2 npnginx1 && pod nginx-2 198.18.0.3 npnginx2 &&
  pod access 198.18.0.4 npaccess && pod kube-dns 198.18.0.10 npkubedns &&
  pod stranger 198.18.0.50 npstranger || { echo "FAIL nft/traffic: pods"; exit 1; }
PODS=(nginx-1 nginx-2 access kube-dns)
PORTS=(80/TCP 53/UDP 53/TCP)
for p in "${PODS[@]}" stranger; do serve "$p" tcp 80; serve "$p" udp 53; serve "$p" tcp 53; done
for p in "${PODS[@]}"; do
  wait_up "${IP[$p]}" 80 && wait_up "${IP[$p]}" 53 || { echo "FAIL nft/traffic: servers did not start"; exit 1; }
done
export NFT_CONNECT_MS=300   # pods are a veth away: a denied flow needs no longer

if out=$(in_node "$KTEST" load "$CASE" 2>&1); then
  echo "PASS traffic/load-tutorial-program"
else
  echo "FAIL traffic/load-tutorial-program: $out"; exit 1
fi

# flow SRC DST PORT/PROTO [LABEL-CHANGES...]: the kernel must agree with the engine
flow() {
  local src=$1 dst=$2 pp=$3; shift 3
  local want got
  want=$("$KTEST" verdict "$CASE" "${NSOF[$src]}/$src" "${NSOF[$dst]}/$dst" "$pp" "$@") ||
    { echo "FAIL traffic/$src-to-$dst-$pp: no verdict"; return; }
  local proto=${pp#*/}; proto=${proto,,}
  if ip netns exec "$P-$src" "$KTEST" connect "$proto" "${IP[$dst]}" "${pp%/*}"; then got=allowed; else got=denied; fi
  if [ "$want" = "$got" ]; then
    echo "PASS traffic/$src-to-$dst-${pp/\//-}${*:+-after-change}-$want"
  else
    echo "FAIL traffic/$src-to-$dst-$pp: engine says $want, kernel $got"
  fi
}

# every ordered pair of pods, every port
matrix() {
  for src in "${PODS[@]}"; do
    for dst in "${PODS[@]}"; do
      [ "$src" = "$dst" ] && continue
      for pp in "${PORTS[@]}"; do flow "$src" "$dst" "$pp" "$@"; done
    done
  done
}
matrix

# counters: the rules that decided carry the policy ids
counter() { in_node "$KTEST" counter "$1"; }
n=$(counter 'advanced-policy-demo/access-nginx ingress[0] from[0]')
[ "${n:-0}" -gt 0 ] && echo "PASS traffic/allow-rule-counts-its-packets" ||
  echo "FAIL traffic/allow-rule-counts-its-packets: $n"
n=$(counter 'advanced-policy-demo/nginx-1 ingress isolated by')
[ "${n:-0}" -gt 0 ] && echo "PASS traffic/isolation-drop-counts-its-packets" ||
  echo "FAIL traffic/isolation-drop-counts-its-packets: $n"

# fail closed: a pod interface that has no program yet
if ip netns exec "$P-stranger" "$KTEST" connect udp 198.18.0.10 53; then
  echo "FAIL traffic/pod-without-program-is-dropped: its packet passed"
else
  n=$(counter 'pod without a program')
  [ "${n:-0}" -gt 0 ] && echo "PASS traffic/pod-without-program-is-dropped" ||
    echo "FAIL traffic/pod-without-program-is-dropped: counter $n"
fi

# a spoofed source (kube-dns posing as access, which nginx-1 admits)
ip -n "$P-kube-dns" addr add 198.18.0.4/32 dev eth0
ip netns exec "$P-kube-dns" "$KTEST" connect tcp 198.18.0.2 80 198.18.0.4
n=$(counter 'source address not the pod')
[ "${n:-0}" -gt 0 ] && echo "PASS traffic/spoofed-source-is-dropped" ||
  echo "FAIL traffic/spoofed-source-is-dropped: counter $n"
ip -n "$P-kube-dns" addr del 198.18.0.4/32 dev eth0

# an incremental change: nginx-2 relabelled out of run=nginx
change=advanced-policy-demo/nginx-2:run=other
# (its element of in-iso no longer names access-nginx: deleted and added
# again; access-nginx's allow of its interface goes; its address leaves the
# egress class of run=nginx)
if out=$(in_node "$KTEST" load "$CASE" "$change" 2>&1) &&
   [[ $out == *"chains +0 ~0 -0, sets +0 -0, elements +1 -3" ]]; then
  echo "PASS traffic/relabel-changes-one-chain-and-one-element"
else
  echo "FAIL traffic/relabel-changes-one-chain-and-one-element: $out"
fi
matrix "$change"
exit 0
