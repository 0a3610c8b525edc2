#!/usr/bin/env bash
# Kernel tests of `netpol agent` against `netpol serve`, in throwaway
# network namespaces named <lab>-* (lab = a<pid>), all removed on exit. The
# root namespace is never touched.
#
# The node and three pods are made here (like tests/nft/suite.sh): a node
# namespace, veths named np*, Pod objects with status.podIP and the
# netpol.io/interface annotation put into the store through the API.
#   a. upstream-like matrix: every pod pair on 80/TCP and 81/UDP passes or
#      fails on real traffic exactly as the engine says, policy after policy
#   d. live `netpol explain` agrees with the offline one on the same objects;
#      it takes its lab from NETPOL_LAB/NETPOL_SOCKET, a Service as an
#      endpoint, and names a near miss
#   b. churn: 1,000 random policy and label changes through the API while
#      probers check a flow every version denies and one every version allows
#   c. restart under traffic: SIGTERM keeps the table, a new agent changes
#      nothing, a long-lived TCP connection survives, no denied packet passes
#   e. --cut-denied-connections cuts an established connection that a new
#      policy denies; by default it is not cut
# It also reports the apply latency (change at the agent -> committed).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/wait.sh
if [ -z "${AGENT_SUITE_INNER:-}" ]; then
  out=$(AGENT_SUITE_INNER=1 bash "${BASH_SOURCE[0]}" "$@" 2>&1)
  echo "$out"
  ! grep -q '^FAIL ' <<< "$out"
  exit
fi
NETPOL=$(realpath "${NETPOL:-build/netpol}")
BUILD=$(dirname "$NETPOL")
PROBE=${NETPOL_PROBE:-$BUILD/src/probe/netpol-probe}
BUSYBOX=${NETPOL_BUSYBOX_DIR:-/var/cache/netpol/busybox}/bin
LAB=a$$
NODE=$LAB-node
T=$(mktemp -d /tmp/netpol-agent.XXXXXX)
SOCK=$T/api.sock
pids=()
agent_pid=

cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  for ns in $(ip netns list | awk '{print $1}' | grep "^$LAB-"); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns"
  done
  rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ] || ! ip netns add "$LAB-probe" 2>/dev/null; then
  echo "SKIP agent kernel tests: network namespaces unavailable (needs root)"
  exit 0
fi
ip netns del "$LAB-probe"
for f in "$NETPOL" "$PROBE" "$BUSYBOX/nc"; do
  [ -x "$f" ] || { echo "FAIL agent/setup: $f missing"; exit 1; }
done


fail() { echo "FAIL $1: $2"; }
pass() { echo "PASS $1"; }

api() { # METHOD PATH [JSON] [CONTENT-TYPE]
  curl -s --unix-socket "$SOCK" -X "$1" -H "Content-Type: ${4:-application/json}" \
    ${3:+--data-binary "$3"} "http://localhost$2"
}
NP=/apis/networking.k8s.io/v1/namespaces

# ---- the control plane, the node, the pods ------------------------------------------
serve_args=(--state-dir "$T/state" --socket "$SOCK")
# once serve runs a lab of its own, keep it out of this test's way
help=$("$NETPOL" serve --help 2>&1)
[[ $help == *--lab* ]] && serve_args+=(--lab "$LAB")
[[ $help == *--no-agent* ]] && serve_args+=(--no-agent)
[[ $help == *--no-node* ]] && serve_args+=(--no-node)
"$NETPOL" serve "${serve_args[@]}" > "$T/serve.log" 2>&1 & pids+=($!)
wait_for 30 test -S "$SOCK" || { fail agent/setup "serve did not start: $(cat "$T/serve.log")"; exit 1; }

ip netns add "$NODE" && ip -n "$NODE" link set lo up &&
  ip netns exec "$NODE" sysctl -qw net.ipv4.ip_forward=1 || { fail agent/setup node; exit 1; }

declare -A IP=([a]=198.18.5.2 [b]=198.18.5.3 [c]=198.18.5.4)
declare -A NSOF=([a]=x [b]=x [c]=y)
declare -A LABELS=([a]='{"app":"a","tier":"t1"}' [b]='{"app":"b","role":"friend"}'
                   [c]='{"app":"c","role":"friend"}')
PODS=(a b c)

wire() { # POD: a namespace on a veth "np<pod>" of the node
  local ns=$LAB-$1 ip=${IP[$1]}
  ip netns add "$ns" &&
  ip -n "$NODE" link add "np$1" type veth peer name eth0 netns "$ns" &&
  ip -n "$ns" link set lo up && ip -n "$ns" link set eth0 up &&
  ip -n "$ns" addr add "$ip/32" dev eth0 &&
  ip -n "$ns" route add 169.254.1.1 dev eth0 scope link &&
  ip -n "$ns" route add default via 169.254.1.1 dev eth0 &&
  ip -n "$NODE" link set "np$1" up &&
  ip -n "$NODE" addr add 169.254.1.1/32 dev "np$1" &&
  ip -n "$NODE" route add "$ip/32" dev "np$1"
}

api POST /api/v1/namespaces '{"metadata":{"name":"x","labels":{"team":"x"}}}' >/dev/null
api POST /api/v1/namespaces '{"metadata":{"name":"y","labels":{"team":"v1"}}}' >/dev/null
for p in "${PODS[@]}"; do
  wire "$p" || { fail agent/setup "pod $p"; exit 1; }
  api POST "/api/v1/namespaces/${NSOF[$p]}/pods" "{\"metadata\":{\"name\":\"$p\",\"labels\":${LABELS[$p]},
    \"annotations\":{\"netpol.io/interface\":\"np$p\"}},\"spec\":{\"containers\":[{\"name\":\"main\",
    \"image\":\"probe\",\"ports\":[{\"containerPort\":80},{\"containerPort\":81,\"protocol\":\"UDP\"}]}]}}" >/dev/null
  api PATCH "/api/v1/namespaces/${NSOF[$p]}/pods/$p/status" \
    "{\"status\":{\"phase\":\"Running\",\"podIP\":\"${IP[$p]}\",\"podIPs\":[{\"ip\":\"${IP[$p]}\"}]}}" \
    application/merge-patch+json >/dev/null
  ip netns exec "$LAB-$p" "$PROBE" serve 80 81 >/dev/null 2>&1 & pids+=($!)
done
ip netns exec "$LAB-b" "$BUSYBOX/nc" -ll -p 9000 -e "$BUSYBOX/cat" >/dev/null 2>&1 & pids+=($!)

start_agent() { # LOG [ARGS...]
  local log=$1; shift
  rm -f "$T/ready"
  "$NETPOL" agent --lab "$LAB" --socket "$SOCK" --ready-file "$T/ready" \
    --latency-file "$T/latency.$log" -v "$@" > "$T/agent.$log" 2>&1 &
  agent_pid=$!
  wait_for 30 test -e "$T/ready"
}
stop_agent() { kill -TERM "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; agent_pid=; }

if start_agent 1; then
  pass agent-becomes-ready
else
  fail agent-becomes-ready "$(cat "$T/agent.1")"; exit 1
fi
annotation() { api GET /api/v1/namespaces/x/pods/a | jq -r '.metadata.annotations["netpol.io/dataplane"]'; }
programmed() { [ "$(annotation)" = programmed ]; }
wait_for 30 programmed && pass pods-annotated-programmed || fail pods-annotated-programmed "$(annotation)"

# live explain of one pair, JSON
live() { "$NETPOL" explain --lab "$LAB" --socket "$SOCK" --from "$1" --to "$2" --port "$3" -o json; }
# the agent has committed the store's current state
in_sync() { [ "$(live x/a x/b 80/TCP 2>/dev/null | jq -r .kernel.inSync)" = true ]; }
wait_sync() { wait_for 30 in_sync; }
reach() { # SRC DST PORT/PROTO TIMEOUT
  local pp=$3 proto=${3#*/}
  ip netns exec "$LAB-$1" "$PROBE" connect "${IP[$2]}" "${pp%/*}" --protocol "${proto,,}" \
    --timeout "$4" >/dev/null 2>&1
}
# reaches SRC DST PORT/PROTO ALLOWED(true|false): one short try decides a
# denied flow; one the engine allows is tried again, for seconds, before
# it counts as denied (a loaded machine can take longer than 0.4 s)
reaches() {
  reach "$1" "$2" "$3" 0.4 && return 0
  [ "$4" = true ] && { reach "$1" "$2" "$3" 3 || reach "$1" "$2" "$3" 10; }
}

# ---- a. the matrix on real traffic ---------------------------------------------------
matrix() { # STAGE
  local src dst pp out=$T/m.$1 n=0
  wait_sync || { fail "matrix/$1" "agent not in sync"; return; }
  for src in "${PODS[@]}"; do for dst in "${PODS[@]}"; do
    [ "$src" = "$dst" ] && continue
    for pp in 80/TCP 81/UDP; do
      ( want=$(live "${NSOF[$src]}/$src" "${NSOF[$dst]}/$dst" "$pp" | jq -r '.allowed')
        if reaches "$src" "$dst" "$pp" "$want"; then got=true; else got=false; fi
        [ "$want" = "$got" ] || echo "$src->$dst $pp: engine allowed=$want, kernel allowed=$got"
      ) >> "$out" & n=$((n + 1))
    done
  done; done
  wait_jobs
  if [ -s "$out" ]; then fail "matrix/$1" "$(tr '\n' ';' < "$out")"; else pass "matrix/$1 ($n flows)"; fi
}
# waits for the subshells of this shell only (not the servers)
wait_jobs() { local j; for j in $(jobs -p); do in_pids "$j" || wait "$j"; done; }
in_pids() { local p; for p in "${pids[@]}" "$agent_pid"; do [ "$p" = "$1" ] && return 0; done; return 1; }

matrix no-policies
api POST $NP/x/networkpolicies '{"metadata":{"name":"deny-ingress"},"spec":{"podSelector":{},"policyTypes":["Ingress"]}}' >/dev/null
matrix default-deny-ingress

# ---- f. kubectl -f of a policy the reader refuses changes nothing -------------------------
# Read as kubectl's reader used to, {trusted: 1e999} became {} (every pod of
# x) and port 1e999 every TCP port: either would open a -> b.
kubectl_f() { NETPOL_SOCKET=$SOCK NETPOL_STATE_DIR=$T/state NETPOL_LAB=$LAB timeout 30 "$NETPOL" create -f "$@"; }
cat > "$T/peer.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: widened-peer}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - from: [{podSelector: {matchLabels: {trusted: 1e999}}}]
EOF
cat > "$T/port.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: widened-port}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - ports: [{port: 1e999}]
EOF
why=
kubectl_f "$T/peer.yaml" -n x > "$T/peer.out" 2>&1 && why="$why peer policy accepted;"
grep -qx "$T/peer.yaml:7:50: error: 1e999 cannot be represented: number out of range" "$T/peer.out" ||
  why="$why peer: $(head -c 200 "$T/peer.out");"
kubectl_f "$T/port.yaml" -n x > "$T/port.out" 2>&1 && why="$why port policy accepted;"
grep -qx "$T/port.yaml:7:20: error: 1e999 cannot be represented: number out of range" "$T/port.out" ||
  why="$why port: $(head -c 200 "$T/port.out");"
for name in widened-peer widened-port; do
  [ "$(api GET $NP/x/networkpolicies/$name | jq -r .code)" = 404 ] || why="$why $name stored;"
done
wait_sync || why="$why agent not in sync;"
reach a b 80/TCP 1 && why="$why a -> b 80/TCP connected;"
[ -z "$why" ] && pass "kubectl-f-of-1e999-peer-or-port-is-refused-and-the-flow-stays-denied" ||
  fail "kubectl-f-of-1e999-peer-or-port-is-refused-and-the-flow-stays-denied" "$why"
api DELETE $NP/x/networkpolicies/widened-peer > /dev/null
api DELETE $NP/x/networkpolicies/widened-port > /dev/null
api POST $NP/x/networkpolicies '{"metadata":{"name":"friends"},"spec":{"podSelector":{"matchLabels":{"app":"a"}},
  "ingress":[{"from":[{"namespaceSelector":{},"podSelector":{"matchLabels":{"role":"friend"}}}],"ports":[{"port":80}]}]}}' >/dev/null
matrix allow-friends-on-80
api POST $NP/y/networkpolicies '{"metadata":{"name":"egress"},"spec":{"podSelector":{},"policyTypes":["Egress"],
  "egress":[{"to":[{"namespaceSelector":{"matchLabels":{"team":"x"}}}],"ports":[{"port":81,"protocol":"UDP"}]}]}}' >/dev/null
matrix egress-only-udp-81-to-x

# ---- d. live explain == offline explain ---------------------------------------------------
for k in api/v1/namespaces api/v1/pods apis/networking.k8s.io/v1/networkpolicies; do
  api GET "/$k" | jq '.items[]'
done | jq -s '{apiVersion:"v1",kind:"List",items:.}' > "$T/objects.json"
strip='del(.kernel) | walk(if type == "object" then del(.file, .line) else . end)'
bad=
for src in x/a x/b y/c 203.0.113.7; do for dst in x/a x/b y/c; do for pp in 80/TCP 81/UDP 81/TCP; do
  [ "$src" = "$dst" ] && continue
  l=$(live "$src" "$dst" "$pp" | jq -S "$strip")
  o=$("$NETPOL" explain -f "$T/objects.json" --from "$src" --to "$dst" --port "$pp" -o json | jq -S "$strip")
  [ -n "$l" ] && [ "$l" = "$o" ] || bad+="$src->$dst $pp; "
done; done; done
[ -z "$bad" ] && pass live-explain-agrees-with-offline || fail live-explain-agrees-with-offline "$bad"
txt=$("$NETPOL" explain --lab "$LAB" --socket "$SOCK" --from y/c --to x/a --port 81/TCP)
if [[ $txt == *"kernel ("*"set in-iso"*"packets "*'"npa" counter comment "x/a ingress isolated by'* ]]; then
  pass live-explain-shows-kernel-counters
else
  fail live-explain-shows-kernel-counters "$txt"
fi
# the environment chooses the lab as for the kubectl verbs; a Service
# stands for its pod on its targetPort; a near miss names the one term
api POST $NP/x/networkpolicies '{"metadata":{"name":"near-b"},"spec":{"podSelector":{"matchLabels":{"app":"b","tier":"t1"}},
  "ingress":[{"ports":[{"port":80}]}]}}' >/dev/null
api POST /api/v1/namespaces/x/services '{"metadata":{"name":"bsvc"},"spec":{"selector":{"app":"b"},
  "ports":[{"port":8080,"targetPort":80}]}}' >/dev/null
wait_sync
j=$(NETPOL_LAB=$LAB NETPOL_SOCKET=$SOCK "$NETPOL" explain --from x/a --to x/svc/bsvc --port 8080 -o json)
got=$(jq -r '[.kernel.node, .to, .port, .allowed, (.ingress.nearMisses[] | .policy + " " + .term)] | join(",")' <<< "$j")
want="/run/netns/$NODE,x/b,80,false,x/near-b tier=t1"
[ "$got" = "$want" ] && pass live-explain-env-service-near-miss ||
  fail live-explain-env-service-near-miss "got $got, want $want: $j"
api DELETE /api/v1/namespaces/x/services/bsvc >/dev/null
for pol in x/deny-ingress x/friends y/egress x/near-b; do
  api DELETE "$NP/${pol%/*}/networkpolicies/${pol#*/}" >/dev/null
done

# ---- b. churn ------------------------------------------------------------------------------
# Flow D (c -> a on 80/TCP): a is isolated by "fixed", and every random
# rule allows other ports only. Flow A (c -> b on 80/TCP): no policy ever
# selects b (no tier label) or anything in y.
api POST $NP/x/networkpolicies '{"metadata":{"name":"fixed"},"spec":{"podSelector":{"matchLabels":{"app":"a"}},"policyTypes":["Ingress"]}}' >/dev/null
tier=t1   # pod a's, as the generator last set it
rand_policy() { # NAME: selects pod a most of the time, so most changes reach the kernel
  local tiers=(t1 t2 t3) peers ports sel
  sel="\"${tiers[RANDOM % 3]}\""
  [ $((RANDOM % 4)) != 0 ] && sel+=",\"$tier\""
  case $((RANDOM % 4)) in
    0) peers='{"podSelector":{"matchLabels":{"role":"friend"}}}' ;;
    1) peers="{\"namespaceSelector\":{\"matchLabels\":{\"team\":\"v$((RANDOM % 3 + 1))\"}}}" ;;
    2) peers='{"ipBlock":{"cidr":"198.18.0.0/16","except":["198.18.5.3/32"]}}' ;;
    3) peers='{"namespaceSelector":{},"podSelector":{"matchExpressions":[{"key":"app","operator":"In","values":["c","b"]}]}}' ;;
  esac
  ports="{\"port\":$((RANDOM % 5 + 81))}"
  [ $((RANDOM % 2)) = 0 ] && ports+=",{\"port\":80,\"protocol\":\"UDP\"}"
  printf '{"metadata":{"name":"%s"},"spec":{"podSelector":{"matchExpressions":[{"key":"tier","operator":"In","values":[%s]}]},"ingress":[{"from":[%s],"ports":[%s]}]}}' \
    "$1" "$sel" "$peers" "$ports"
}
for i in 0 1 2 3 4; do api POST $NP/x/networkpolicies "$(rand_policy r$i)" >/dev/null; done
# 1,000 changes as one curl run (a config file of requests)
cfg=$T/churn.curl
esc() { sed 's/\\/\\\\/g; s/"/\\"/g' <<< "$1"; }
req() { # METHOD PATH [JSON [CONTENT-TYPE]]
  printf 'url = "http://localhost%s"\nunix-socket = "%s"\nrequest = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' "$2" "$SOCK" "$1"
  [ -n "${3:-}" ] && printf 'header = "Content-Type: %s"\ndata = "%s"\n' "${4:-application/json}" "$(esc "$3")"
  printf 'next\n'
}
: > "$cfg"
changes=0
while [ $changes -lt 1000 ]; do
  i=$((RANDOM % 5))
  case $((RANDOM % 7)) in
    0|1|2) req PUT "$NP/x/networkpolicies/r$i" "$(rand_policy r$i)" >> "$cfg"; changes=$((changes + 1)) ;;
    3) req DELETE "$NP/x/networkpolicies/r$i" >> "$cfg"
       req POST "$NP/x/networkpolicies" "$(rand_policy r$i)" >> "$cfg"; changes=$((changes + 2)) ;;
    4|5) t=(t1 t2 t3 t9); next=${t[RANDOM % 4]}; [ "$next" = "$tier" ] && next=t9; [ "$next" = "$tier" ] && next=t1
       tier=$next
       req PATCH /api/v1/namespaces/x/pods/a "{\"metadata\":{\"labels\":{\"tier\":\"$tier\"}}}" \
         application/merge-patch+json >> "$cfg"
       changes=$((changes + 1)) ;;
    6) req PATCH /api/v1/namespaces/y "{\"metadata\":{\"labels\":{\"team\":\"v$((RANDOM % 3 + 1))\"}}}" \
         application/merge-patch+json >> "$cfg"; changes=$((changes + 1)) ;;
  esac
done
sed -i '$ d' "$cfg"   # the last "next"
wait_sync
# A denied flow is probed with 0.1 s; an allowed one with 0.9 s, time for
# a loaded machine to answer but less than TCP's first SYN retransmission
# (1 s): a probe passes only if its first SYN and SYN-ACK got through.
prober() { # NAME SRC DST PORT/PROTO WANT
  local n=0 bad=0 t=0.1
  [ "$5" = allowed ] && t=0.9
  while [ ! -e "$T/stop-$1" ]; do
    if reach "$2" "$3" "$4" $t; then [ "$5" = allowed ] || bad=$((bad + 1))
    else [ "$5" = denied ] || bad=$((bad + 1)); fi
    n=$((n + 1))
  done
  echo "$n $bad" > "$T/prober-$1"
}
# packets the node's table dropped on their way from c (its egress) or to b
# (its ingress): the per-pod elements of eg-iso / in-iso count them
cb_drops() {
  ip netns exec "$NODE" nft -j list table inet netpol 2>/dev/null |
    jq '[.. | objects | select(has("elem")) | .elem | objects
         | select((.comment // "") | test("/(b ingress|c egress) ")) | .counter.packets // 0] | add // 0'
}
cb_before=$(cb_drops)
prober denied c a 80/TCP denied & pids+=($!)
prober allowed c b 80/TCP allowed & pids+=($!)
start_t=$(date +%s.%N)
codes=$(curl -s --rate 200/s -K "$cfg")
end_t=$(date +%s.%N)
nbad=$(grep -cv '^20[01]$' <<< "$codes")
[ "$nbad" != 0 ] && [ -n "${DEBUG:-}" ] && sort <<< "$codes" | uniq -c >&2
wait_sync
probers_done() { [ -s "$T/prober-denied" ] && [ -s "$T/prober-allowed" ]; }
touch "$T/stop-denied" "$T/stop-allowed"
wait_for 60 probers_done || fail churn/probers "did not stop"
read -r dn dbad < "$T/prober-denied"
read -r an abad < "$T/prober-allowed"
# An allowed probe that timed out while the kernel dropped nothing of c->b
# was the machine being slow (a loaded host can take more than 0.9 s to
# run a probe), not the flow closing: only a counted drop fails the test.
cb_after=$(cb_drops)
if [ "$abad" != 0 ] && [ -n "$cb_before" ] && [ "$cb_after" = "$cb_before" ]; then
  echo "  # $abad of $an allowed probes timed out; the kernel dropped no packet of c->b (load)" >&2
  abad=0
fi
secs=$(echo "$end_t - $start_t" | bc)
if [ "$nbad" = 0 ] && [ "$dbad" = 0 ] && [ "$abad" = 0 ] && [ "$dn" -gt 5 ] && [ "$an" -gt 5 ]; then
  pass "churn-1000-changes-never-open-the-denied-or-close-the-allowed (${secs}s, $dn+$an probes)"
else
  fail churn-1000-changes "API errors $nbad, denied flow passed $dbad/$dn, allowed flow failed $abad/$an"
  # what dropped: the drops of the node's table that counted packets
  ip netns exec "$NODE" nft list table inet netpol 2>/dev/null | grep -E 'drop' |
    grep -v 'packets 0 ' | sed 's/^\s*/  # /'
fi
matrix after-churn

# apply latency: changes that reached the kernel
lat=$(awk '$2 == 1 {print $1}' "$T/latency.1" | sort -n)
n=$(wc -l <<< "$lat")
if [ "$n" -ge 500 ]; then
  p50=$(sed -n "$(( (n + 1) / 2 ))p" <<< "$lat"); p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" <<< "$lat")
  pass "apply-latency-measured (p50 $(echo "scale=2; $p50 / 1000" | bc) ms, p99 $(echo "scale=2; $p99 / 1000" | bc) ms over $n changes)"
else
  fail apply-latency-measured "only $n changes reached the kernel"
fi

# ---- c. restart under traffic --------------------------------------------------------------
rm -f "$T"/stop-* "$T"/prober-*
long_conn() { # LOG: c -> b:9000, a round trip every 50 ms (LOST: no answer within 5 s)
  ip netns exec "$LAB-c" bash -c 'exec 3<>/dev/tcp/$0/9000 || exit 1
    while :; do echo ping >&3 || { echo DEAD; exit; }
      if read -r -t 5 l <&3; then echo ok; else echo LOST; sleep 0.2; fi; sleep 0.05; done' \
    "${IP[b]}" > "$1" 2>&1 & pids+=($!)
  wait_for 30 grep -q ok "$1"
}
# round_trips LOG MARK N: N more round trips in LOG than MARK
round_trips() { [ "$(grep -c ok "$1")" -ge $(($2 + $3)) ]; }
long_conn "$T/conn1" || fail restart/long-connection "did not start: $(cat "$T/conn1")"
# packets the node's table dropped on their way from c (its egress) or to b
# (its ingress): the per-pod elements of eg-iso / in-iso count them
cb_drops() {
  ip netns exec "$NODE" nft -j list table inet netpol 2>/dev/null |
    jq '[.. | objects | select(has("elem")) | .elem | objects
         | select((.comment // "") | test("/(b ingress|c egress) ")) | .counter.packets // 0] | add // 0'
}
cb_before=$(cb_drops)
prober denied c a 80/TCP denied & pids+=($!)
prober allowed c b 80/TCP allowed & pids+=($!)
count() { ip netns exec "$NODE" nft list table inet netpol | grep 'comment "established"' |
          sed 's/.*packets \([0-9]*\).*/\1/'; }
wait_for 30 round_trips "$T/conn1" 0 10   # traffic under the first agent
stop_agent
before=$(count)
if [ -n "$before" ]; then pass restart/table-stays-after-sigterm; else fail restart/table-stays-after-sigterm "no table"; fi
wait_for 30 round_trips "$T/conn1" "$(grep -c ok "$T/conn1")" 10   # and with no agent
if start_agent 2 && grep -q 'kernel already held the program' "$T/agent.2"; then
  pass restart/new-agent-changes-nothing
else
  fail restart/new-agent-changes-nothing "$(cat "$T/agent.2")"
fi
counted() { after=$(count); [ "${after:-0}" -gt "${before:-0}" ]; }
wait_for 30 counted
[ "${after:-0}" -gt "${before:-0}" ] && pass "restart/counters-kept ($before -> $after)" ||
  fail restart/counters-kept "established counter $before -> $after"
touch "$T/stop-denied" "$T/stop-allowed"
wait_for 60 probers_done || fail restart/probers "did not stop"
read -r dn dbad < "$T/prober-denied"; read -r an abad < "$T/prober-allowed"
# An allowed probe that timed out while the kernel dropped nothing of c->b
# was the machine being slow (a loaded host can take more than 0.9 s to
# run a probe), not the flow closing: only a counted drop fails the test.
cb_after=$(cb_drops)
if [ "$abad" != 0 ] && [ -n "$cb_before" ] && [ "$cb_after" = "$cb_before" ]; then
  echo "  # $abad of $an allowed probes timed out; the kernel dropped no packet of c->b (load)" >&2
  abad=0
fi
[ "$dbad" = 0 ] && [ "$abad" = 0 ] && pass "restart/no-denied-packet-passes-no-allowed-flow-fails ($dn+$an probes)" ||
  fail restart/flows "denied passed $dbad/$dn, allowed failed $abad/$an"
if ! grep -qE 'LOST|DEAD' "$T/conn1" && tail -n1 "$T/conn1" | grep ok >/dev/null; then
  pass "restart/long-lived-connection-survives ($(grep -c ok "$T/conn1") round trips)"
else
  fail restart/long-lived-connection-survives "$(sort "$T/conn1" | uniq -c | tr '\n' ' ')"
fi

# ---- e. established connections and a policy that denies them -------------------------
deny_b='{"metadata":{"name":"deny-b"},"spec":{"podSelector":{"matchLabels":{"app":"b"}},"policyTypes":["Ingress"]}}'
mark=$(wc -l < "$T/conn1")
api POST $NP/x/networkpolicies "$deny_b" >/dev/null
wait_sync
# the established connection goes on: 10 more round trips after the program changed
wait_for 30 round_trips "$T/conn1" "$(grep -c ok "$T/conn1")" 10
if reach c b 9000/TCP 0.3; then fail cut/policy-denies-new-connections "a new connection passed"
else pass cut/policy-denies-new-connections; fi
if tail -n +"$mark" "$T/conn1" | grep -E 'LOST|DEAD' >/dev/null; then
  fail cut/default-keeps-established-connections "$(tail -n +"$mark" "$T/conn1" | sort | uniq -c | tr '\n' ' ')"
else
  pass cut/default-keeps-established-connections
fi
api DELETE $NP/x/networkpolicies/deny-b >/dev/null
stop_agent
start_agent 3 --cut-denied-connections || fail cut/agent-restarts "$(cat "$T/agent.3")"
long_conn "$T/conn2" || fail cut/long-connection "did not start: $(cat "$T/conn2")"
mark=$(wc -l < "$T/conn2")
api POST $NP/x/networkpolicies "$deny_b" >/dev/null
was_cut() { tail -n +"$mark" "$T/conn2" | grep -E 'LOST|DEAD' >/dev/null && grep -q 'cut [0-9]* denied' "$T/agent.3"; }
wait_sync
if wait_for 30 was_cut; then
  pass cut/cut-denied-connections-cuts-them
else
  fail cut/cut-denied-connections-cuts-them "$(tail -n +"$mark" "$T/conn2" | sort | uniq -c | tr '\n' ' ') $(tail -3 "$T/agent.3")"
fi
stop_agent
grep -h 'apply latency' "$T"/agent.* | sed 's/^/# /'
exit 0
