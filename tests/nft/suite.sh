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
#   3. IPv6 traffic: a second node namespace with the dual-stack program of
#      tests/nft/dual-stack.yaml and five dual-stack pod namespaces (a pod
#      selector, a namespace selector, an ipBlock with an except classified
#      through in-cidr6, a named port, default deny); every pair of pods on
#      a few ports over IPv6 (and IPv4) must agree with the engine, before
#      and after an incremental change; a spoofed IPv6 source is dropped.
set -uo pipefail
. "$(dirname "$0")/../lib/wait.sh"
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
tmp=

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
  if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
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
wait_up() { wait_for 30 ip netns exec "$NODE" "$KTEST" connect tcp "$1" "$2"; }

# reaches NS WANT PROTO IP PORT [SRC]: whether a connection from namespace
# NS is answered. One try of NFT_CONNECT_MS decides a denied flow (pods are
# a veth away); a flow the engine allows is tried again, for seconds,
# before it counts as denied: on a loaded machine an answer (or the
# client's start) can take longer than the short timeout.
reaches() {
  local ns=$1 want=$2 ms; shift 2
  ip netns exec "$ns" "$KTEST" connect "$@" && return 0
  [ "$want" = allowed ] || return 1
  for ms in 2000 5000 10000; do
    NFT_CONNECT_MS=$ms ip netns exec "$ns" "$KTEST" connect "$@" && return 0
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
  if reaches "$P-$src" "$want" "$proto" "${IP[$dst]}" "${pp%/*}"; then got=allowed; else got=denied; fi
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

# ---- 3. IPv6 traffic ----------------------------------------------------------------
CASE6=tests/nft/dual-stack.yaml
NODE6=$P-node6
tmp=$(mktemp -d "/tmp/$P.XXXXXX") || { echo "FAIL traffic6: mktemp"; exit 1; }
in_node6() { NPT_NETNS=$NODE6 ip netns exec "$NODE6" "$@"; }

# pod6 NAME IFNAME IPV4 IPV6: a dual-stack pod namespace wired to node6;
# the node's end answers as 169.254.1.1 and fe80::1 (static neighbours,
# so that no flow waits for neighbour discovery)
pod6() {
  local ns=$P-6-$1 mac nmac
  ip netns add "$ns" &&
  ip -n "$NODE6" link add "$2" type veth peer name eth0 netns "$ns" &&
  ip -n "$ns" link set lo up && ip -n "$ns" link set eth0 up &&
  ip -n "$NODE6" link set "$2" up &&
  ip -n "$ns" addr add "$3/32" dev eth0 &&
  ip -n "$ns" -6 addr add "$4/128" dev eth0 nodad &&
  ip -n "$NODE6" addr add 169.254.1.1/32 dev "$2" &&
  ip -n "$NODE6" -6 addr add fe80::1/64 dev "$2" nodad &&
  nmac=$(ip netns exec "$NODE6" cat "/sys/class/net/$2/address") &&
  mac=$(ip netns exec "$ns" cat /sys/class/net/eth0/address) &&
  ip -n "$ns" -6 neigh replace fe80::1 lladdr "$nmac" dev eth0 nud permanent &&
  ip -n "$NODE6" -6 neigh replace "$4" lladdr "$mac" dev "$2" nud permanent &&
  ip -n "$ns" route add 169.254.1.1 dev eth0 scope link &&
  ip -n "$ns" route add default via 169.254.1.1 dev eth0 &&
  ip -n "$ns" -6 route add default via fe80::1 dev eth0 &&
  ip -n "$NODE6" route add "$3/32" dev "$2" &&
  ip -n "$NODE6" -6 route add "$4/128" dev "$2"
}

ip netns add "$NODE6" && ip -n "$NODE6" link set lo up &&
  ip netns exec "$NODE6" sysctl -qw net.ipv4.ip_forward=1 &&
  ip netns exec "$NODE6" sysctl -qw net.ipv6.conf.all.forwarding=1 ||
  { echo "FAIL traffic6/node: namespace or forwarding"; exit 1; }
declare -A IP6=([web]=2001:db8:1::2 [client]=2001:db8:1::3 [monitor]=2001:db8:2::4
                [visitor]=2001:db8:3::5 [blocked]=2001:db8:3:ff::6)
declare -A IP46=([web]=198.18.1.2 [client]=198.18.1.3 [monitor]=198.18.1.4
                 [visitor]=198.18.1.5 [blocked]=198.18.1.6)
declare -A NS6=([web]=shop [client]=shop [monitor]=ops [visitor]=guests [blocked]=guests)
PODS6=(web client monitor visitor blocked)
PORTS6=(8080/TCP 9090/TCP 53/UDP)
for p in "${PODS6[@]}"; do
  pod6 "$p" "np$p" "${IP46[$p]}" "${IP6[$p]}" || { echo "FAIL traffic6/pods: wiring $p"; exit 1; }
done
for p in "${PODS6[@]}"; do
  for pp in "${PORTS6[@]}"; do proto=${pp#*/}; serve "6-$p" "${proto,,}" "${pp%/*}"; done
done
# servers up, from the node (not forwarded: no policy), on both families
up6() { wait_for 30 ip netns exec "$NODE6" "$KTEST" connect "$3" "$1" "$2"; } # IP PORT PROTO
for p in "${PODS6[@]}"; do
  for pp in "${PORTS6[@]}"; do
    proto=${pp#*/}; proto=${proto,,}
    up6 "${IP6[$p]}" "${pp%/*}" "$proto" && up6 "${IP46[$p]}" "${pp%/*}" "$proto" ||
      { echo "FAIL traffic6/servers: $p $pp did not answer"; exit 1; }
  done
done

if out=$(in_node6 "$KTEST" load "$CASE6" 2>&1); then
  echo "PASS traffic6/load-dual-stack-program"
else
  echo "FAIL traffic6/load-dual-stack-program: $out"; exit 1
fi

# flow6 4|6 SRC DST PORT/PROTO [LABEL-CHANGES...]: the kernel must agree
# with the engine, the pods addressed by their address of that family
flow6() {
  local fam=$1 src=$2 dst=$3 pp=$4; shift 4
  local want got ip name=traffic6
  if [ "$fam" = 6 ]; then ip=${IP6[$dst]}; else ip=${IP46[$dst]}; name=traffic6/ipv4; fi
  local label="$name/$src-to-$dst-${pp/\//-}${*:+-after-change}"
  want=$("$KTEST" verdict "-$fam" "$CASE6" "${NS6[$src]}/$src" "${NS6[$dst]}/$dst" "$pp" "$@") ||
    { echo "FAIL $label: no verdict"; return; }
  local proto=${pp#*/}; proto=${proto,,}
  if reaches "$P-6-$src" "$want" "$proto" "$ip" "${pp%/*}"; then got=allowed; else got=denied; fi
  if [ "$want" = "$got" ]; then
    echo "PASS $label-$want"
  else
    echo "FAIL $label: engine says $want, kernel $got"
  fi
}

# matrix6 4|6 [LABEL-CHANGES...]: every ordered pair, every port, all at
# once (a denied flow waits NFT_CONNECT_MS), printed in order
matrix6() {
  local fam=$1; shift
  local i=0 jobs=()
  for src in "${PODS6[@]}"; do
    for dst in "${PODS6[@]}"; do
      [ "$src" = "$dst" ] && continue
      for pp in "${PORTS6[@]}"; do
        flow6 "$fam" "$src" "$dst" "$pp" "$@" > "$tmp/$i" 2>&1 & jobs+=($!)
        i=$((i + 1))
      done
    done
  done
  wait "${jobs[@]}"
  for ((j = 0; j < i; j++)); do cat "$tmp/$j"; done
  rm -f "$tmp"/*
}
matrix6 6

# counters over IPv6 only so far: the rules that decided
counter6() { in_node6 "$KTEST" counter "$1"; }
n=$(counter6 'shop/web-ingress ingress[2] from[0]')
[ "${n:-0}" -gt 0 ] && echo "PASS traffic6/ipblock-allow-counts-its-packets" ||
  echo "FAIL traffic6/ipblock-allow-counts-its-packets: $n"
n=$(counter6 'shop/client ingress isolated by')
[ "${n:-0}" -gt 0 ] && echo "PASS traffic6/isolation-drop-counts-its-packets" ||
  echo "FAIL traffic6/isolation-drop-counts-its-packets: $n"

# a spoofed IPv6 source: blocked (in the except) posing as visitor (in the
# block, admitted by web on http); counted on the IPv6 anti-spoof rule
spoof='ip6 saddr != @ep-src6'
before=$(counter6 "$spoof"); allow_before=$(counter6 'shop/web-ingress ingress[2] from[0]')
ip -n "$P-6-blocked" -6 addr add "${IP6[visitor]}/128" dev eth0 nodad
if ip netns exec "$P-6-blocked" "$KTEST" connect tcp "${IP6[web]}" 8080 "${IP6[visitor]}"; then
  echo "FAIL traffic6/spoofed-source-is-dropped: the connection was answered"
else
  n=$(counter6 "$spoof"); a=$(counter6 'shop/web-ingress ingress[2] from[0]')
  [ "${n:-0}" -gt "${before:-0}" ] && [ "${a:-0}" = "${allow_before:-0}" ] &&
    echo "PASS traffic6/spoofed-source-is-dropped" ||
    echo "FAIL traffic6/spoofed-source-is-dropped: anti-spoof counter $before -> $n, allow counter $allow_before -> $a"
fi
ip -n "$P-6-blocked" -6 addr del "${IP6[visitor]}/128" dev eth0

# the same program over IPv4 (the block is IPv6 only: visitor is not admitted)
matrix6 4

# an incremental change: client relabelled out of app=client (its addresses
# change class in in-pod4 and in-pod6; the class only it had goes, and
# the allow only that class used: web-ingress ingress[0])
change6=shop/client:app=other
if out=$(in_node6 "$KTEST" load "$CASE6" "$change6" 2>&1) &&
   [[ $out == *"chains +0 ~0 -2, sets +0 -4, elements +2 -2" ]]; then
  echo "PASS traffic6/relabel-moves-two-addresses-drops-a-class-and-its-allow"
else
  echo "FAIL traffic6/relabel-moves-two-addresses-drops-a-class-and-its-allow: $out"
fi
matrix6 6 "$change6"
exit 0
