#!/usr/bin/env bash
# The upstream Kubernetes NetworkPolicy e2e cases (tests/upstream/cases/*) on
# real traffic: one lab (`netpol serve` with its policy agent, so verdicts
# come from the kernel's nftables program), upstream's model created once
# (namespaces x, y, z; pods a, b, c at the fixture's addresses through
# Calico's cni.projectcalico.org/ipAddrs annotation), then every case's
# steps replayed with kubectl verbs and every `expect` answered by probing
# all 72 pod pairs from inside the pods. Each probed matrix must equal the
# case's table AND what offline `netpol reach` says about the live objects
# (`get -o yaml` of the lab), so the engine and the kernel cannot drift.
#
#   suite.sh [CASE...]       all cases, or only these
#
# Prints "PASS <case>" / "FAIL <case>: why" (then the expected and observed
# tables, differing cells marked), and at the end the total time.
#
# Timing (see BENCHMARKS.md, "Conformance"): every expect group (consecutive
# expect lines) is one `netpol-probe batch` run: all 72 pairs x ports at once,
# each socket opened inside its source pod's namespace, so a group costs one
# probe timeout (PROBE_TIMEOUT, default 0.3 s: an allowed answer over the
# lab's veths takes well under 10 ms on an idle machine) however many probes
# are denied. A probe that offline reach says is allowed but that got no
# answer within that time is probed again (one batch of them, up to
# PROBE_RETRY_TIMEOUT, default 5 s) before it counts as denied: on a loaded
# machine an answer can take longer than the short timeout.
#
# "Programmed" signal: before probing, the suite polls live `netpol explain
# -o json` until .kernel.inSync is true: explain lists the objects from the
# API (which holds the change once kubectl returned), compiles the node's
# program from them and compares it with the table read from the kernel, so
# true means the kernel enforces exactly the current objects.
#
# Needs root, jq and awk. NETPOL names the binary (default build/netpol).
set -uo pipefail
. "$(dirname "$0")/../lib/sweep.sh"
. "$(dirname "$0")/../lib/wait.sh"
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
UP=$ROOT/tests/upstream
NETPOL=$(realpath "${NETPOL:-$ROOT/build/netpol}")
BUILD=$(dirname "$NETPOL")
PROBE=${NETPOL_PROBE:-$BUILD/src/probe/netpol-probe}
PROBE_TIMEOUT=${PROBE_TIMEOUT:-0.3}
PROBE_RETRY_TIMEOUT=${PROBE_RETRY_TIMEOUT:-5}
RETRIED=0
LAB=c$$
T=$(mktemp -d /tmp/netpol-conf.XXXXXX)
export NETPOL_STATE_DIR=$T/state NETPOL_SOCKET=$T/api.sock NETPOL_LAB=$LAB NETPOL_PROBE=$PROBE
START=$(date +%s.%N)
serve_pid=

cleanup() {
  if [ -n "$serve_pid" ]; then
    kill -TERM "$serve_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$serve_pid" 2>/dev/null
    wait "$serve_pid" 2>/dev/null
  fi
  sweep_lab "$LAB"
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

k() { "$NETPOL" "$@"; }

if [ "$(id -u)" -ne 0 ]; then echo "FAIL conformance: needs root"; exit 1; fi
for f in "$NETPOL" "$PROBE"; do
  [ -x "$f" ] || { echo "FAIL conformance: $f is missing"; exit 1; }
done
command -v jq >/dev/null || { echo "FAIL conformance: jq is missing"; exit 1; }

NAMESPACES=(x y z)
PODNAMES=(a b c)
PODS=()
declare -A IP_OF POD_OF NETNS_OF NSLABELS POD_LABELS
for ni in 0 1 2; do
  for pi in 0 1 2; do
    p=${NAMESPACES[ni]}/${PODNAMES[pi]}
    PODS+=("$p")
    IP_OF[$p]=198.18.$((ni + 1)).$((pi + 1))
    POD_OF[${IP_OF[$p]}]=$p
  done
done

# ---- the model in the lab --------------------------------------------------------

# lab_model: model.yaml as the lab runs it. Same namespaces, labels,
# containers and named ports; no status (the kubelet writes it); the fixed
# address as a Calico IP request; image probe. One container per port and
# protocol as upstream, but one process serves them all (cont-80-tcp runs
# `serve 80 81`, over TCP, UDP and SCTP): the probe server answers SCTP
# through a raw socket, and two servers in one pod would both answer an INIT.
lab_model() {
  local ns p port proto
  for ns in "${NAMESPACES[@]}"; do
    printf -- '---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n    ns: "%s"\n' "$ns" "$ns"
  done
  for ns in "${NAMESPACES[@]}"; do
    for p in "${PODNAMES[@]}"; do
      printf -- '---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: %s\n' "$p" "$ns"
      printf '  labels:\n    pod: "%s"\n' "$p"
      printf '  annotations:\n    cni.projectcalico.org/ipAddrs: '"'"'["%s"]'"'"'\n' "${IP_OF[$ns/$p]}"
      printf 'spec:\n  containers:\n'
      for port in 80 81; do
        for proto in TCP UDP SCTP; do
          printf '  - name: cont-%s-%s\n    image: probe\n' "$port" "${proto,,}"
          if [ "$port/$proto" = 80/TCP ]; then
            printf '    args: ["serve", "80", "81"]\n'
          else
            printf '    command: ["sleep", "2147483647"]\n'
          fi
          printf '    ports:\n    - name: serve-%s-%s\n      containerPort: %s\n      protocol: %s\n' \
            "$port" "${proto,,}" "$port" "$proto"
        done
      done
    done
  done
}

# The lab model must say what model.yaml says: same names, labels, ports.
model_digest() { grep -E '^(kind|  name|  namespace|    [a-z]+:|  - name|    - name|      (containerPort|protocol)):' | grep -v -e '^    image:' -e '^    args:' -e '^    command:' -e 'ipAddrs' ; }

ready_count() {
  k get pods -A -o json 2>/dev/null | jq '[.items[] | select((.metadata.namespace | test("^[xyz]$")) and .status.phase == "Running" and
    ([.status.conditions[]? | select(.type == "Ready" and .status == "True")] | length) == 1)] | length'
}

setup_lab() {
  local n p netns
  lab_model > "$T/lab-model.yaml"
  if ! diff <(model_digest < "$UP/model.yaml") <(model_digest < "$T/lab-model.yaml") > "$T/model.diff"; then
    echo "FAIL conformance/setup: the lab model differs from tests/upstream/model.yaml:"
    sed 's/^/    /' "$T/model.diff"; return 1
  fi
  "$NETPOL" serve --state-dir "$NETPOL_STATE_DIR" --socket "$NETPOL_SOCKET" --lab "$LAB" \
    > "$T/serve.log" 2>&1 &
  serve_pid=$!
  wait_for 60 test -S "$NETPOL_SOCKET" || { echo "FAIL conformance/setup: serve did not start"; tail "$T/serve.log"; return 1; }
  k apply -f "$T/lab-model.yaml" > "$T/apply.log" 2>&1 ||
    { echo "FAIL conformance/setup: kubectl apply of the model"; sed 's/^/    /' "$T/apply.log"; return 1; }
  all_ready() { n=$(ready_count); [ "${n:-0}" -eq 9 ]; }
  if ! wait_for 90 all_ready; then
    echo "FAIL conformance/setup: only ${n:-0} of 9 pods Ready after 90 s"
    k get pods -A -o json | jq -r '.items[] | "    \(.metadata.namespace)/\(.metadata.name) \(.status.phase) \(.status.containerStatuses[0].state)"'
    tail -n 20 "$T/serve.log" | sed 's/^/    /'
    return 1
  fi
  # every pod at its fixture address; its network namespace, for probing
  while read -r p ip netns; do
    [ "${IP_OF[$p]:-}" = "$ip" ] || { echo "FAIL conformance/setup: $p has address $ip, want ${IP_OF[$p]:-?}"; return 1; }
    NETNS_OF[$p]=$netns
  done < <(k get pods -A -o json | jq -r '.items[] | select(.metadata.namespace | test("^[xyz]$")) |
             "\(.metadata.namespace)/\(.metadata.name) \(.status.podIP)"' |
           while read -r p ip; do echo "$p $ip $(ip netns list | awk '{print $1}' | grep -x "$LAB-p-${p%/*}-${p#*/}")"; done)
  for p in "${PODS[@]}"; do
    [ -n "${NETNS_OF[$p]:-}" ] || { echo "FAIL conformance/setup: no network namespace for $p"; return 1; }
  done
  echo "PASS conformance/setup"
  ip_request_refused
}

# A pod asking for an address that is taken (or not an address) must not
# start, and its status must say why.
has_message() { # POD: its waiting message, in msg
  msg=$(k get pod -n x "$1" -o json 2>/dev/null | jq -r '.status.containerStatuses[0].state.waiting.message // empty')
  [ -n "$msg" ]
}
ip_request_refused() {
  local p msg ok=1
  printf -- '---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: x\n  annotations:\n    cni.projectcalico.org/ipAddrs: '"'"'%s'"'"'\nspec:\n  containers:\n  - name: c\n    image: probe\n' \
    taken '["198.18.1.1"]' bad '198.18.1.9' > "$T/ip-request.yaml"
  k apply -f "$T/ip-request.yaml" > /dev/null 2>&1 || ok=0
  for p in taken bad; do
    wait_for 30 has_message "$p"
    case "$p:$msg" in
      "taken:"*"198.18.1.1 is already in use"*|"bad:"*"want a list of one IPv4 address"*) ;;
      *) ok=0; echo "    pod x/$p: status message '$msg'" ;;
    esac
  done
  k delete pod -n x taken bad > /dev/null 2>&1
  if [ $ok -eq 1 ]; then echo "PASS conformance/ip-request-refused"
  else echo "FAIL conformance/ip-request-refused: a pod with a taken or malformed address request did not fail clearly"; fi
}

. "$ROOT/tests/upstream/compare.sh"


# ---- one case -------------------------------------------------------------------

# set_labels VAR KEY ARGS...: `label --overwrite` on our record of the
# labels ("k=v" sets, "k-" removes), to restore them after the case.
set_labels() {
  local -n arr=$1
  local key=$2 cur arg k out kv
  shift 2
  cur=${arr[$key]}
  for arg in "$@"; do
    k=${arg%%=*}; k=${k%-}
    out=""
    for kv in $cur; do [ "${kv%%=*}" = "$k" ] || out+="$kv "; done
    case "$arg" in *=*) out+="$arg" ;; esac
    cur=$out
  done
  arr[$key]=$cur
}

reset_labels() {
  local ns p
  for ns in "${NAMESPACES[@]}"; do
    NSLABELS[$ns]="ns=$ns"
    for p in "${PODNAMES[@]}"; do POD_LABELS[$ns/$p]="pod=$p"; done
  done
}

# restore: back to the model: no policies, the model's labels. Only what
# the case touched is undone; the next wait for the kernel covers it too.
restore() {
  local ns key kv args
  for ns in "${!POLICY_NS[@]}"; do
    k delete networkpolicy --all -n "$ns" > /dev/null 2>>"$WORK/log" ||
      FIRST=${FIRST:-"cleanup: deleting the policies of $ns failed"}
  done
  for key in "${!TOUCHED[@]}"; do
    args=()
    if [ "${key%% *}" = pod ]; then
      for kv in ${POD_LABELS[${key#* }]}; do [ "$kv" = "pod=${key##*/}" ] || args+=("${kv%%=*}-"); done
      key=${key#* }; args+=("pod=${key#*/}")
      k label --overwrite pod -n "${key%/*}" "${key#*/}" "${args[@]}" > /dev/null 2>>"$WORK/log"
    else
      for kv in ${NSLABELS[${key#* }]}; do [ "$kv" = "ns=${key#* }" ] || args+=("${kv%%=*}-"); done
      key=${key#* }; args+=("ns=$key")
      k label --overwrite ns "$key" "${args[@]}" > /dev/null 2>>"$WORK/log"
    fi || FIRST=${FIRST:-"cleanup: restoring the labels of $key failed"}
  done
  reset_labels
}

# wait_programmed: until the kernel holds the program of the current objects.
wait_programmed() {
  local end=$((SECONDS + 60)) v
  while :; do
    v=$(k explain --lab "$LAB" --socket "$NETPOL_SOCKET" --from x/a --to x/b --port 80/TCP \
          -o json 2>>"$WORK/log" | jq -r '.kernel.inSync' 2>/dev/null)
    [ "$v" = true ] && return 0
    [ $SECONDS -ge $end ] && return 1
    sleep 0.01
  done
}

# probed_flows: `netpol-probe batch` answers as "SRC DST PORT/PROTO ./X"
probed_flows() {
  awk -v pods="${PODS[*]}" -v lab="$LAB" '
    BEGIN { n = split(pods, P, " "); for (i = 1; i <= n; i++) { split(P[i], a, "/")
            ns[lab "-p-" a[1] "-" a[2]] = P[i]; ip["198.18." int((i - 1) / 3) + 1 "." (i - 1) % 3 + 1] = P[i] } }
    { print ns[$1], ip[$2], $3 "/" toupper($4), ($5 == 1 ? "." : "X") }'
}

# probe_group STEP PORT FILE [STEP PORT FILE...]: consecutive expect steps.
# Probes every pair on every port at once, checks the tables, and that
# offline reach on the live objects says the same.
probe_group() {
  local ports=() i s d port pl files=() line step res file
  for ((i = 2; i <= $#; i += 3)); do
    [[ " ${ports[*]} " == *" ${!i} "* ]] || ports+=("${!i}")
  done
  if ! wait_programmed; then
    FIRST=${FIRST:-"step $1: the kernel did not get the program within 60 s"}; return
  fi
  # offline, on the live objects, while the probes wait
  ( k get ns,pods,networkpolicies -A -o yaml > "$WORK/live.yaml" &&
    k reach -f "$WORK/live.yaml" --ports "$(IFS=,; echo "${ports[*]}")" -o json |
    jq -r '.flows[] | "\(.from) \(.to) \(.port)/\(.protocol) \(if .allowed then "." else "X" end)"' \
      > "$WORK/reach" ) 2>>"$WORK/log" &
  local reach_pid=$!
  for s in "${PODS[@]}"; do
    for d in "${PODS[@]}"; do
      [ "$s" = "$d" ] && continue
      for port in "${ports[@]}"; do
        pl=${port#*/}; echo "${NETNS_OF[$s]} ${IP_OF[$d]} ${port%/*} ${pl,,}"
      done
    done
  done > "$WORK/probes"
  "$PROBE" batch --timeout "$PROBE_TIMEOUT" < "$WORK/probes" > "$WORK/probed" 2>>"$WORK/log"
  wait "$reach_pid" || { FIRST=${FIRST:-"step $1: offline reach on the live objects failed"}; }
  probed_flows < "$WORK/probed" > "$WORK/flows"
  # unanswered where reach expects an answer: again, for longer, before
  # it counts as denied (a denied flow is never retried: it stays short)
  awk 'NR == FNR { if ($4 == ".") want[$1, $2, $3] = 1; next }
       $4 == "X" && ($1, $2, $3) in want' "$WORK/reach" "$WORK/flows" |
    while read -r s d port _; do pl=${port#*/}; echo "${NETNS_OF[$s]} ${IP_OF[$d]} ${port%/*} ${pl,,}"; done \
    > "$WORK/probes"
  if [ -s "$WORK/probes" ]; then
    RETRIED=$((RETRIED + $(wc -l < "$WORK/probes")))
    "$PROBE" batch --timeout "$PROBE_RETRY_TIMEOUT" < "$WORK/probes" 2>>"$WORK/log" | probed_flows > "$WORK/retried"
    awk 'NR == FNR { if ($4 == ".") ok[$1, $2, $3] = 1; next }
         { if (($1, $2, $3) in ok) $4 = "."; print }' "$WORK/retried" "$WORK/flows" > "$WORK/flows.new" &&
      mv "$WORK/flows.new" "$WORK/flows"
  fi
  compare_tables "on real traffic" "$@"
  # the engine and the kernel must agree cell by cell
  res=$(awk 'NR == FNR { k[$1, $2, $3] = $4; next }
             ($1, $2, $3) in k { seen++; if (k[$1, $2, $3] != $4) print "      " $3 " " $1 " -> " $2 ": kernel " k[$1, $2, $3] ", reach " $4 }
             END { if (seen + 0 != '"$(wc -l < "$WORK/flows")"') print "      reach answered " seen + 0 " of the probed cells" }' \
          "$WORK/flows" "$WORK/reach" 2>/dev/null)
  if [ -n "$res" ]; then
    FIRST=${FIRST:-"step $1: offline reach and the kernel disagree"}
    REPORT+="    step $1: offline reach on the live objects disagrees with the probes:"$'\n'"$(head -n 20 <<< "$res")"$'\n'
  fi
}

# run_case DIR: replays DIR/steps against the lab; prints PASS or FAIL.
run_case() {
  CASE_DIR=$1
  local cname=${1##*/} line w act f ns pending=() step=0 i out
  FIRST="" REPORT="" EXPECTS=0
  declare -gA POLICY_NS=() TOUCHED=()
  WORK=$T/case; rm -rf "$WORK"; mkdir -p "$WORK"
  while IFS= read -r line || [ -n "$line" ]; do
    read -r -a w <<< "${line%%#*}"
    [ ${#w[@]} -eq 0 ] && continue
    act=${w[0]}
    if [ "$act" != expect ] && [ ${#pending[@]} -gt 0 ]; then
      probe_group "${pending[@]}"; pending=()
    fi
    step=$((step + 1))
    case "$act" in
      apply)
        f=$CASE_DIR/${w[1]}
        ns=$(awk '/^metadata:/ { m = 1; next } m && /^  namespace:/ { gsub(/[" ]/, "", $2); print $2; exit } /^[^ #]/ { m = 0 }' "$f")
        POLICY_NS[${ns:-default}]=1
        out=$(k apply -f "$f" 2>&1) || FIRST=${FIRST:-"step $step: kubectl apply -f ${w[1]} failed: $out"} ;;
      delete)
        out=$(k delete networkpolicy -n "${w[2]%/*}" "${w[2]#*/}" 2>&1) ||
          FIRST=${FIRST:-"step $step: kubectl delete networkpolicy ${w[2]} failed: $out"} ;;
      label)
        if [ "${w[1]}" = pod ]; then
          set_labels POD_LABELS "${w[2]}" "${w[@]:3}"
          out=$(k label --overwrite pod -n "${w[2]%/*}" "${w[2]#*/}" "${w[@]:3}" 2>&1)
        else
          set_labels NSLABELS "${w[2]}" "${w[@]:3}"
          out=$(k label --overwrite ns "${w[2]}" "${w[@]:3}" 2>&1)
        fi || FIRST=${FIRST:-"step $step: kubectl label ${w[*]:1} failed: $out"}
        TOUCHED["${w[1]} ${w[2]}"]=1 ;;
      reject)
        # refused by the API server's validation, so nothing changes
        if out=$(k apply -f "$CASE_DIR/${w[1]}" 2>&1) || ! grep -qi invalid <<< "$out"; then
          FIRST=${FIRST:-"step $step: kubectl apply -f ${w[1]} was not refused as invalid"}
          REPORT+="    step $step: ${out:0:300}"$'\n'
        fi
        EXPECTS=$((EXPECTS + 1)) ;;
      expect)
        for ((i = 1; i < ${#w[@]}; i += 2)); do pending+=("$step" "${w[i]}" "${w[i+1]}"); done ;;
      *) FIRST=${FIRST:-"step $step: unknown action $act"} ;;
    esac
  done < "$CASE_DIR/steps"
  [ ${#pending[@]} -gt 0 ] && probe_group "${pending[@]}"
  restore
  [ $EXPECTS -gt 0 ] || FIRST=${FIRST:-"no expect step"}
  if [ -n "$FIRST" ]; then
    echo "FAIL $cname: $FIRST"
    [ -n "$REPORT" ] && printf '%s' "$REPORT"
    [ -s "$WORK/log" ] && sed 's/^/    log: /' "$WORK/log" | head -n 10
    return 1
  fi
  echo "PASS $cname"
}

main() {
  local d dirs=() failed=0
  reset_labels
  setup_lab || return 1
  if [ $# -gt 0 ]; then
    for d in "$@"; do dirs+=("$UP/cases/${d%/}"); done
  else
    for d in "$UP"/cases/*; do [ -d "$d" ] && dirs+=("$d"); done
  fi
  for d in "${dirs[@]}"; do
    if [ ! -f "$d/steps" ]; then echo "FAIL ${d##*/}: no such case"; failed=1; continue; fi
    run_case "$d" || failed=1
  done
  printf 'conformance: %d cases in %.1f s (probe timeout %s s; %d allowed probes retried)\n' "${#dirs[@]}" \
    "$(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" "$PROBE_TIMEOUT" "$RETRIED"
  return $failed
}

main "$@"
