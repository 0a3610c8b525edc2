#!/usr/bin/env bash
# The Calico advanced-policy tutorial (../shared/seed/advanced-policy.md) run
# verbatim in a private lab, as root: the tutorial's kubectl command lines
# (through the `kubectl` symlink, policies as heredocs into `kubectl create
# -f -`), the busybox `access` pod opened with the tutorial's
# `kubectl run ... --rm -ti --image busybox /bin/sh` and its shell driven
# through a pipe. The checks of one step run at the same time: the first in
# that shell, the others in `kubectl exec` sessions into the same pod, so
# the denied ones wait out their 5 s (and nslookup's 30 s) together.
# Prints "PASS name" / "FAIL name: why", one line per outcome of issue 6.
set -uo pipefail
. "$(dirname "$0")/../lib/sweep.sh"
cd "$(dirname "$0")/../.."
ROOT=$PWD

NETPOL=${NETPOL:-build/netpol}
case $NETPOL in /*) ;; *) NETPOL=$ROOT/$NETPOL ;; esac
LAB="tut$$"
T=$(mktemp -d /tmp/netpol-tutorial.XXXXXX)
NS=advanced-policy-demo

if [ "$(id -u)" -ne 0 ]; then echo "FAIL tutorial: needs root"; exit 1; fi
command -v jq >/dev/null || { echo "FAIL tutorial: jq is missing"; exit 1; }

# kubectl is the netpol binary under the name kubectl, first on PATH
mkdir -p "$T/bin"
ln -s "$NETPOL" "$T/bin/kubectl"
ln -s "$NETPOL" "$T/bin/netpol"
export PATH="$T/bin:$PATH"
export NETPOL_STATE_DIR="$T/state" NETPOL_SOCKET="$T/api.sock" NETPOL_LAB="$LAB"

shell_pid=
cleanup() {
  exec 3>&- 2>/dev/null
  [ -n "$shell_pid" ] && kill "$shell_pid" 2>/dev/null
  netpol down >/dev/null 2>&1
  sweep_lab "$LAB"
  rm -rf "$T"
}
trap cleanup EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
# wait_for SECONDS CMD...: polls CMD every 0.1 s
wait_for() {
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done
}
nginx_ready() {
  [ "$(kubectl get pods --namespace=$NS 2>/dev/null | grep -c '^nginx-.* 1/1 *Running')" -eq 2 ]
}
# the agent has committed the store's current state to the kernel
in_sync() {
  [ "$(netpol explain --lab "$LAB" --socket "$NETPOL_SOCKET" --from $NS/access \
       --to $NS/access --port 80/TCP -o json 2>/dev/null | jq -r .kernel.inSync)" = true ]
}
nft_table() { ip netns exec "$LAB-node" nft list table inet netpol 2>/dev/null; }
# the interfaces the agent dispatches on (its verdict maps' keys)
nft_ifnames() { nft_table | grep -o '"np[0-9a-f]*"' | sort -u; }

# --- the access pod's shell, driven through a fifo ---
mkfifo "$T/sh.in"
open_access() {
  kubectl run --namespace=advanced-policy-demo access --rm -ti --image busybox /bin/sh \
    <"$T/sh.in" >"$T/sh.out" 2>&1 &
  shell_pid=$!
  exec 3>"$T/sh.in"
  # the reader waits for the shell (busybox prompts only once typed at)
  wait_for 30 access_running
}
access_running() {
  kubectl get pods --namespace=$NS access 2>/dev/null | grep ' 1/1 *Running' >/dev/null
}
nmark=0
marked() { tr -d '\r' <"$T/sh.out" | grep -x -- "$1" >/dev/null; }
# in_shell CMD OUTFILE N: types CMD into the access shell, then a marker
# N (one per command); the output between the markers goes to OUTFILE
in_shell() {
  local m="@@done-$3" p="@@done-$(($3 - 1))"
  printf '%s\necho %s\n' "$1" "$m" >&3
  wait_for 90 marked "$m" || { echo "(no answer)" >"$2"; return; }
  # the lines after the previous marker, without the prompts and echoes
  tr -d '\r' <"$T/sh.out" | awk -v m="$m" -v p="$p" -v c="$1" '
    $0 == p { on = 1; next }
    $0 == m { exit }
    (on || p == "@@done-0") && $0 != c && $0 != "/ # " c && $0 != "/ # echo " m' >"$2"
}
# check_step STEP CMD... : runs the step's checks at once; output in $T/STEP.I
check_step() {
  local step=$1 i=0 pids=(); shift
  for c in "$@"; do
    i=$((i + 1))
    if [ $i -eq 1 ]; then
      nmark=$((nmark + 1))
      in_shell "$c" "$T/$step.$i" $nmark &
    else
      # shellcheck disable=SC2086  # the tutorial's words, split as typed
      kubectl exec --namespace=advanced-policy-demo access -- $c >"$T/$step.$i" 2>&1 &
    fi
    pids+=($!)
  done
  wait "${pids[@]}"
  echo "step $step: checks done at $(elapsed) s"
}
elapsed() { echo "$(date +%s.%N) - $start" | bc | sed 's/\(\.[0-9]\)[0-9]*$/\1/'; }
has() { grep -qF -- "$2" "$T/$1"; }
# outcome NAME STEP "I:TEXT"...: passes when output I of STEP contains TEXT ("!" negates)
outcome() {
  local name=$1 step=$2 why="" spec i text; shift 2
  for spec in "$@"; do
    i=${spec%%:*}; text=${spec#*:}
    if [ "${text:0:1}" = "!" ]; then
      has "$step.$i" "${text:1}" && why="$why check $i says '${text:1}';"
    else
      has "$step.$i" "$text" || why="$why check $i lacks '$text' (got: $(head -c 120 "$T/$step.$i" | tr '\n' ' '));"
    fi
  done
  [ -z "$why" ] && pass "$name" || fail "$name" "$why"
}

WGET_NGINX="wget -q --timeout=5 nginx -O -"
WGET_GOOGLE="wget -q --timeout=5 google.com -O -"
WELCOME="<title>Welcome to nginx!</title>"
GOOGLE_PAGE='<!doctype html><html itemscope="" item'
TIMED_OUT="wget: download timed out"

start=$(date +%s.%N)

# --- 1. Create the namespace and nginx service ---
kubectl create ns advanced-policy-demo >"$T/k1" 2>&1 &&
kubectl run --namespace=advanced-policy-demo nginx --replicas=2 --image=nginx >>"$T/k1" 2>&1 &&
kubectl expose --namespace=advanced-policy-demo deployment nginx --port=80 >>"$T/k1" 2>&1 ||
  { fail step1-setup "$(cat "$T/k1")"; exit 1; }
# the tutorial's reader opens a second shell meanwhile: the deployment is up
wait_for 30 nginx_ready || { fail step1-setup "nginx not ready: $(kubectl get pods -A 2>&1)"; exit 1; }
baseline_ifnames=$(nft_ifnames)   # before: kube-dns and the two nginx pods
open_access
check_step 1 "$WGET_NGINX" "$WGET_GOOGLE"
outcome 1-both-wget-succeed 1 "1:$WELCOME" "2:$GOOGLE_PAGE"

# --- 2. Deny all ingress traffic ---
kubectl create -f - >"$T/k2" 2>&1 <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-ingress
  namespace: advanced-policy-demo
spec:
  podSelector:
    matchLabels: {}
  policyTypes:
  - Ingress
EOF
wait_for 10 in_sync; echo "synced at $(elapsed) s"
check_step 2 "$WGET_NGINX" "$WGET_GOOGLE"
outcome 2-nginx-times-out-google-works 2 "1:$TIMED_OUT" "1:!$WELCOME" "2:$GOOGLE_PAGE"

# --- 3. Allow ingress traffic to Nginx ---
kubectl create -f - >"$T/k3" 2>&1 <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: access-nginx
  namespace: advanced-policy-demo
spec:
  podSelector:
    matchLabels:
      run: nginx
  ingress:
    - from:
      - podSelector:
          matchLabels: {}
EOF
wait_for 10 in_sync; echo "synced at $(elapsed) s"
check_step 3 "$WGET_NGINX"
outcome 3-nginx-works 3 "1:$WELCOME"

# --- 4. Deny all egress traffic ---
kubectl create -f - >"$T/k4" 2>&1 <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny-egress
  namespace: advanced-policy-demo
spec:
  podSelector:
    matchLabels: {}
  policyTypes:
  - Egress
EOF
wait_for 10 in_sync; echo "synced at $(elapsed) s"
check_step 4 "nslookup nginx" "$WGET_GOOGLE"
outcome 4-dns-and-google-fail 4 "1:nslookup: can't resolve 'nginx'" "2:wget: bad address 'google.com'"

# --- 5. Allow DNS egress traffic ---
kubectl label namespace kube-system name=kube-system >"$T/k5" 2>&1
kubectl create -f - >>"$T/k5" 2>&1 <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-dns-access
  namespace: advanced-policy-demo
spec:
  podSelector:
    matchLabels: {}
  policyTypes:
  - Egress
  egress:
  - to:
    - namespaceSelector:
        matchLabels:
          name: kube-system
    ports:
    - protocol: UDP
      port: 53

EOF
wait_for 10 in_sync; echo "synced at $(elapsed) s"
check_step 5 "nslookup nginx" "nslookup google.com" "$WGET_NGINX" "$WGET_GOOGLE"
outcome 5-names-resolve-http-fails 5 "1:Name:" "1:nginx" "1:!can't resolve" \
  "2:Name:      google.com" "2:!can't resolve" "3:$TIMED_OUT" "3:!$WELCOME" \
  "4:$TIMED_OUT" "4:!$GOOGLE_PAGE"

# --- 6. Allow egress traffic to nginx ---
kubectl create -f - >"$T/k6" 2>&1 <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-egress-to-advance-policy-ns
  namespace: advanced-policy-demo
spec:
  podSelector:
    matchLabels: {}
  policyTypes:
  - Egress
  egress:
  - to:
    - podSelector:
        matchLabels:
          run: nginx
EOF
wait_for 10 in_sync; echo "synced at $(elapsed) s"
check_step 6 "$WGET_NGINX" "$WGET_GOOGLE"
outcome 6-nginx-works-google-times-out 6 "1:$WELCOME" "2:$TIMED_OUT" "2:!$GOOGLE_PAGE"

for k in "$T"/k2 "$T"/k3 "$T"/k4 "$T"/k5 "$T"/k6; do
  grep -q 'created' "$k" || fail "create-$(basename "$k")" "$(cat "$k")"
done

# the reader leaves the access shell; --rm deletes the pod
printf 'exit\n' >&3
exec 3>&-
wait "$shell_pid" 2>/dev/null; shell_pid=

# --- 7. Clean up namespace ---
kubectl delete ns advanced-policy-demo >"$T/k7" 2>&1
ns_gone() { ! kubectl get ns 2>/dev/null | grep "^$NS " >/dev/null; }
pods_gone() { ! kubectl get pods -A 2>/dev/null | grep "^$NS " >/dev/null; }
netns_gone() { ! ip netns list | awk '{print $1}' | grep "^$LAB-p-$NS-" >/dev/null; }
rules_gone() {
  local t; t=$(nft_table) || return 1
  ! grep -q "$NS" <<<"$t" && ! grep -qE 'chain (eg|in)-np' <<<"$t" &&
    [ -z "$(comm -13 <(echo "$baseline_ifnames" | grep -v '^$') <(nft_ifnames))" ] &&
    [ "$(nft_ifnames | wc -l)" -le 1 ]
}
why=""
wait_for 15 ns_gone || why="$why namespace still listed;"
wait_for 15 pods_gone || why="$why pods still listed;"
wait_for 15 netns_gone || why="$why network namespaces left: $(ip netns list | grep "^$LAB-p-$NS-" | tr '\n' ' ');"
wait_for 15 rules_gone || why="$why kernel rules left: $(nft_table | grep -E "$NS|chain (eg|in)-np|\"np" | head -5 | tr '\n' ' ');"
[ -z "$why" ] && pass 7-namespace-pods-netns-rules-gone || fail 7-namespace-pods-netns-rules-gone "$why"

total=$(echo "$(date +%s.%N) - $start" | bc)
if [ "$(echo "$total < 60" | bc)" = 1 ]; then
  pass "whole-tutorial-under-60s (${total%???????}s)"
else
  fail whole-tutorial-under-60s "took ${total}s"
fi

netpol down >/dev/null 2>&1
left=$(ip netns list | awk '{print $1}' | grep "^$LAB-")
[ -z "$left" ] && pass down-leaves-nothing || fail down-leaves-nothing "$left"
