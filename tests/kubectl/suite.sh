#!/usr/bin/env bash
# The kubectl verbs of the netpol CLI, end to end: a daemon per test
# (`netpol serve --no-node` in a throwaway state directory, unique lab name),
# the CLI through a `kubectl` symlink, golden output, the tutorial's lines at
# the API level, daemon auto-start and `netpol down`, and the REAL kubectl
# with `netpol kubeconfig`. Prints "PASS name" / "FAIL name: why" / "SKIP".
# UPDATE=1 rewrites the golden files. Needs NETPOL=/path/to/netpol.
set -uo pipefail

NETPOL=${NETPOL:?set NETPOL to the netpol binary}
KUBECTL=${KUBECTL:-$(command -v kubectl || true)}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/wait.sh"
ROOT=$(mktemp -d /tmp/netpol-kubectl-suite.XXXXXX)
ONLY=${1:-}
COUNT=0

cleanup() {
  local p
  for p in "$ROOT"/*/pid; do
    [ -f "$p" ] && kill -KILL "$(cat "$p")" 2>/dev/null
  done
  rm -rf "$ROOT"
}
trap cleanup EXIT

fail() { echo "$*" > "$T/why"; exit 1; }

# The CLI's view of this test's daemon, and a `kubectl` symlink to netpol.
setup_cli() {
  export NETPOL_SOCKET=$T/api.sock NETPOL_STATE_DIR=$T/state NETPOL_LAB=t$$x$COUNT
  export NETPOL_SERVE_FLAGS=--no-node
  mkdir -p "$T/bin" "$T/state"
  ln -sf "$NETPOL" "$T/bin/kubectl"
}

start_daemon() {
  setup_cli
  "$NETPOL" serve --state-dir "$T/state" --socket "$T/api.sock" --listen 127.0.0.1:0 \
    --lab "$NETPOL_LAB" --no-node "$@" > "$T/state/daemon.log" 2>&1 &
  echo $! > "$T/pid"
  wait_for 30 answers && return 0
  kill -0 "$(cat "$T/pid")" 2>/dev/null || fail "daemon exited: $(tail -n 3 "$T/state/daemon.log")"
  fail "daemon did not answer within 30s"
}

K() { timeout 30 "$T/bin/kubectl" "$@"; }
answers() { curl -sf --unix-socket "$T/api.sock" http://lab/version > /dev/null 2>&1; }
api() { curl -s --unix-socket "$T/api.sock" "http://lab$1"; }

# Ages, times, uids and resource versions change from run to run.
normalise() {
  sed -E -e 's/\b[0-9]s\b/0s/g' \
    -e 's/"?[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"?/<time>/g' \
    -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} \+0000 UTC/<time>/' \
    -e 's/[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} \+0000/<time>/' \
    -e 's/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/<uid>/g' \
    -e 's/("?resourceVersion"?: *)"?[0-9]+"?/\1<rv>/g'
}

# golden NAME SCRIPT: runs every line of SCRIPT (K ARGS...) in golden/,
# echoing it, and compares with golden/NAME.out.
golden() {
  local name=$1 script=$2 line out=$T/$1.out
  : > "$out"
  while IFS= read -r line; do
    case $line in ''|'#'*) continue ;; esac
    echo "\$ kubectl ${line#K }" >> "$out"
    (cd "$HERE/golden" && eval "$line") >> "$out" 2>&1
    local rc=$?
    [ $rc -ne 0 ] && echo "[exit $rc]" >> "$out"
  done < "$HERE/golden/$script"
  normalise < "$out" > "$out.norm"
  if [ -n "${UPDATE:-}" ]; then
    cp "$out.norm" "$HERE/golden/$name.out"
  fi
  diff -u "$HERE/golden/$name.out" "$out.norm" > "$T/diff" ||
    fail "output differs from golden/$name.out: $(head -c 1500 "$T/diff")"
}

run() {
  local name=$1 fn=$2
  [ -n "$ONLY" ] && [ "$ONLY" != "$name" ] && return
  COUNT=$((COUNT + 1))
  local dir="$ROOT/$COUNT"
  mkdir -p "$dir"
  ( T=$dir; set +e; "$fn" ) > "$dir/log" 2>&1
  local rc=$?
  if [ -f "$dir/pid" ]; then
    kill -TERM "$(cat "$dir/pid")" 2>/dev/null && wait_exit 30 "$(cat "$dir/pid")"
    kill -KILL "$(cat "$dir/pid")" 2>/dev/null
    rm -f "$dir/pid"
  fi
  if [ -f "$dir/skip" ]; then
    echo "SKIP $name: $(cat "$dir/skip")"
  elif [ $rc -eq 0 ]; then
    echo "PASS $name"
  else
    echo "FAIL $name: $(cat "$dir/why" 2>/dev/null || echo "exited $rc: $(tail -n 3 "$dir/log" | tr '\n' ' ')")"
  fi
}

t_namespace_delete_is_two_phase_and_refuses_new_content() {
  start_daemon --no-controllers   # nothing empties it: it stays Terminating
  K create ns d > /dev/null || fail "create ns"
  K run p -n d --image=x > /dev/null || fail "run"
  K delete ns d --wait=false > "$T/o" 2>&1 || fail "delete: $(cat "$T/o")"
  [ "$(cat "$T/o")" = 'namespace "d" deleted' ] || fail "delete said: $(cat "$T/o")"
  K get ns d > "$T/o" 2>&1
  grep -q '^d  *Terminating ' "$T/o" || fail "get ns: $(cat "$T/o")"
  [ "$(K get ns d -o jsonpath='{.status.phase}')" = Terminating ] || fail "phase"
  K run q -n d --image=x > "$T/o" 2>&1 && fail "create in a terminating namespace succeeded"
  [ "$(cat "$T/o")" = 'Error from server (Forbidden): pods "q" is forbidden: unable to create new content in namespace d because it is being terminated' ] ||
    fail "run said: $(cat "$T/o")"
  K get pod p -n d > /dev/null 2>&1 || fail "existing pod gone without a controller"
}

# lines FILE REGEX N: FILE has at least N lines matching REGEX
lines() { [ "$(grep -c -- "$2" "$1")" -ge "$3" ]; }

t_namespace_delete_waits_until_its_content_and_it_are_gone() {
  start_daemon
  K create ns d > /dev/null || fail "create ns"
  K run web -n d --replicas=2 --image=nginx > /dev/null || fail "run"
  K expose -n d deployment web --port=80 > /dev/null || fail "expose"
  timeout 20 "$T/bin/kubectl" get ns -w > "$T/w" 2>&1 &
  local wpid=$! i
  wait_for 30 grep -q '^kube-system' "$T/w"
  K delete ns d > "$T/o" 2>&1 || fail "delete: $(cat "$T/o")"
  K get ns d > "$T/o" 2>&1 && fail "namespace still there after delete returned"
  grep -q 'namespaces "d" not found' "$T/o" || fail "get ns: $(cat "$T/o")"
  K get pods,svc,deploy,ep -n d > "$T/o" 2>&1
  [ "$(cat "$T/o")" = "No resources found in d namespace." ] || fail "left: $(cat "$T/o")"
  wait_for 30 lines "$T/w" '^d ' 3
  kill "$wpid" 2>/dev/null
  wait "$wpid" 2>/dev/null
  sed -E 's/[0-9]+s$/Xs/' "$T/w" | grep '^d ' > "$T/wd"
  printf 'd             Active   Xs\nd             Terminating   Xs\nd             Terminating   Xs\n' > "$T/want"
  diff "$T/want" "$T/wd" > /dev/null || fail "get ns -w: $(cat "$T/w")"
}

t_get_watch_prints_the_table_then_a_line_per_change() {
  start_daemon --no-controllers
  K run a --image=x > /dev/null || fail "run a"
  timeout 20 "$T/bin/kubectl" get pods -w > "$T/w" 2>&1 &
  local wpid=$! i
  timeout 20 "$T/bin/kubectl" get pod a -w -o name > "$T/wn" 2>&1 &
  local npid=$!
  wait_for 30 lines "$T/w" '^a ' 1 && wait_for 30 test -s "$T/wn"
  K run longer-name --image=x > /dev/null || fail "run"
  K label pod a x=y > /dev/null || fail "label"
  K delete pod a --wait=false > /dev/null || fail "delete"
  wait_for 30 lines "$T/w" '' 5 && wait_for 30 lines "$T/wn" '' 3
  kill "$wpid" "$npid" 2>/dev/null
  wait "$wpid" "$npid" 2>/dev/null
  sed -E 's/[0-9]+s$/Xs/' "$T/w" > "$T/got"
  printf '%s\n' 'NAME   READY   STATUS    RESTARTS   AGE' 'a      0/1     Pending   0          Xs' \
    'longer-name   0/1     Pending   0          Xs' 'a             0/1     Pending   0          Xs' \
    'a             0/1     Pending   0          Xs' > "$T/want"
  diff "$T/want" "$T/got" > "$T/diff" || fail "get -w: $(cat "$T/diff")"
  [ "$(cat "$T/wn")" = "$(printf 'pod/a\npod/a\npod/a')" ] || fail "get pod a -w -o name: $(cat "$T/wn")"
  K get pods,svc -w > "$T/o" 2>&1 && fail "watch of two kinds accepted"
  grep -q 'you may only specify a single resource type' "$T/o" || fail "two kinds: $(cat "$T/o")"
}

# ---- tests ------------------------------------------------------------------------

t_every_verb_prints_what_kubectl_prints() {
  start_daemon
  golden verbs verbs.sh
}

t_tutorial_lines_make_the_objects_the_tutorial_means() {
  start_daemon
  K create ns advanced-policy-demo > /dev/null || fail "create ns"
  K run --namespace=advanced-policy-demo nginx --replicas=2 --image=nginx > /dev/null || fail "run"
  K expose --namespace=advanced-policy-demo deployment nginx --port=80 > /dev/null || fail "expose"
  local d s
  d=$(api /apis/apps/v1/namespaces/advanced-policy-demo/deployments/nginx)
  [ "$(jq -r '.spec.replicas, .spec.selector.matchLabels.run, .spec.template.metadata.labels.run, .spec.template.spec.containers[0].image' <<< "$d" | tr '\n' ' ')" = "2 nginx nginx nginx " ] ||
    fail "deployment: $d"
  s=$(api /api/v1/namespaces/advanced-policy-demo/services/nginx)
  [ "$(jq -r '.spec.selector.run, .spec.ports[0].port, .spec.ports[0].targetPort, .metadata.labels.run' <<< "$s" | tr '\n' ' ')" = "nginx 80 80 nginx " ] ||
    fail "service: $s"
  K create -f - > "$T/out" 2>&1 <<'YAML' || fail "create -f -: $(cat "$T/out")"
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata:
  name: default-deny-ingress
  namespace: advanced-policy-demo
spec:
  podSelector:
    matchLabels: {}
  policyTypes:
  - Ingress
YAML
  grep -qx 'networkpolicy.networking.k8s.io/default-deny-ingress created' "$T/out" || fail "create said: $(cat "$T/out")"
  [ "$(api /apis/networking.k8s.io/v1/namespaces/advanced-policy-demo/networkpolicies/default-deny-ingress | jq -c .spec.policyTypes)" = '["Ingress"]' ] ||
    fail "policy not stored"
  K label namespace kube-system name=kube-system > /dev/null || fail "label"
  [ "$(api /api/v1/namespaces/kube-system | jq -r .metadata.labels.name)" = kube-system ] || fail "label not stored"
  # the access pod: the command after the image, stdin and tty asked for
  # (not through K: $! must be the CLI itself, which is then killed)
  "$T/bin/kubectl" run --namespace=advanced-policy-demo access --image busybox --restart=Never -i -t \
    --dry-run=none /bin/sh < /dev/null > "$T/out" 2>&1 &
  local bg=$! i p
  access_made() { p=$(api /api/v1/namespaces/advanced-policy-demo/pods/access); [ "$(jq -r .kind <<< "$p")" = Pod ]; }
  wait_for 30 access_made
  kill "$bg" 2>/dev/null; wait "$bg" 2>/dev/null
  [ "$(jq -c '[.metadata.labels.run, .spec.containers[0].args, .spec.containers[0].stdin, .spec.containers[0].tty, .spec.containers[0].image]' <<< "$p")" = '["access",["/bin/sh"],true,true,"busybox"]' ] ||
    fail "access pod: $p"
  K delete ns advanced-policy-demo > "$T/out" 2>&1 || fail "delete ns: $(cat "$T/out")"
  grep -qx 'namespace "advanced-policy-demo" deleted' "$T/out" || fail "delete said $(cat "$T/out")"
  [ "$(api /api/v1/namespaces/advanced-policy-demo | jq -r .code)" = 404 ] || fail "namespace still there"
}

t_first_command_starts_the_daemon_and_down_stops_it() {
  setup_cli
  K get ns > "$T/out" 2> "$T/err" || fail "get ns: $(cat "$T/err")"
  [ "$(grep -c 'started the lab daemon' "$T/err")" = 1 ] || fail "stderr: $(cat "$T/err")"
  [ "$(wc -l < "$T/err")" = 1 ] || fail "more than one line on stderr: $(cat "$T/err")"
  grep -q '^default ' "$T/out" || fail "no default namespace: $(cat "$T/out")"
  K get ns > /dev/null 2> "$T/err2" || fail "second get"
  [ -s "$T/err2" ] && fail "second command said: $(cat "$T/err2")"
  local pid
  pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$T/err")
  echo "$pid" > "$T/pid"
  "$NETPOL" down > "$T/down" 2>&1 || fail "down: $(cat "$T/down")"
  grep -q "stopped the lab daemon (pid $pid)" "$T/down" || fail "down said: $(cat "$T/down")"
  kill -0 "$pid" 2>/dev/null && fail "daemon $pid still runs"
  rm -f "$T/pid"
  "$NETPOL" down > "$T/down" 2>&1 || fail "second down failed"
  grep -q "no lab daemon is running" "$T/down" || fail "second down said: $(cat "$T/down")"
}

t_real_kubectl_works_with_netpol_kubeconfig() {
  if [ -z "$KUBECTL" ]; then echo "kubectl is not installed" > "$T/skip"; exit 0; fi
  start_daemon
  "$NETPOL" kubeconfig > "$T/kubeconfig" || fail "netpol kubeconfig"
  rk() { HOME=$T KUBECONFIG=$T/kubeconfig timeout 30 "$KUBECTL" "$@" > "$T/k.out" 2>&1 || fail "kubectl $*: $(head -c 400 "$T/k.out")"; }
  rk create namespace demo
  rk create ns advanced-policy-demo
  rk create -f "$HERE/golden/policies.yaml"
  grep -q 'access-nginx created' "$T/k.out" || fail "create -f: $(cat "$T/k.out")"
  rk apply -f "$HERE/golden/apply.yaml"
  rk apply -f "$HERE/golden/apply-changed.yaml"
  grep -q 'pod/applied configured' "$T/k.out" || fail "apply: $(cat "$T/k.out")"
  "$T/bin/kubectl" run nginx -n demo --replicas=2 --image=nginx > /dev/null || fail "netpol run"
  rk expose deployment nginx -n demo --port=80
  rk label ns demo team=a
  for kind in pods deployments services endpoints namespaces networkpolicies; do
    rk get "$kind" -A
    rk get "$kind" -A -o yaml
  done
  rk get pods -n demo -l run=nginx -o name
  [ "$(wc -l < "$T/k.out")" = 2 ] || fail "get -l: $(cat "$T/k.out")"
  rk get ns -l team=a -o name
  [ "$(cat "$T/k.out")" = namespace/demo ] || fail "get ns -l: $(cat "$T/k.out")"
  rk delete pod applied
  rk delete ns demo
  [ "$(api /api/v1/namespaces/demo | jq -r .code)" = 404 ] || fail "namespace demo still there"
}

t_kubectl_symlink_runs_the_verbs() {
  start_daemon
  [ "$("$T/bin/kubectl" get ns default -o name)" = namespace/default ] || fail "kubectl get"
  [ "$("$NETPOL" get ns default -o name)" = namespace/default ] || fail "netpol get"
}

# A daemon with a real node (no agent: no policy here), for the verbs that
# need running pods: exec, logs, run -i --rm.
start_node_daemon() {
  setup_cli
  unset NETPOL_SERVE_FLAGS
  "$NETPOL" serve --state-dir "$T/state" --socket "$T/api.sock" \
    --lab "$NETPOL_LAB" --no-agent > "$T/state/daemon.log" 2>&1 &
  echo $! > "$T/pid"
  wait_for 30 answers || fail "daemon did not answer within 30s"
}

# wait_phase POD PHASE: up to 60 s
in_phase() { [ "$(api "/api/v1/namespaces/default/pods/$1" | jq -r .status.phase)" = "$2" ]; }
wait_phase() {
  wait_for 60 in_phase "$1" "$2" && return 0
  fail "pod $1 never reached $2: $(api "/api/v1/namespaces/default/pods/$1" | jq -c .status)"
}

t_exec_logs_and_run_rm_work_on_real_pods() {
  start_node_daemon
  K run web --image=nginx > /dev/null || fail "run web"
  wait_phase web Running
  [ "$(K exec web -- hostname)" = web ] || fail "exec hostname: $(K exec web -- hostname 2>&1)"
  [ "$(K exec web -- cat /etc/hostname)" = web ] || fail "/etc/hostname: $(K exec web -- cat /etc/hostname 2>&1)"
  K exec web -- sh -c 'exit 3'
  [ $? -eq 3 ] || fail "exec did not pass the exit status on"
  [ "$(echo 'echo from-stdin' | K exec -i web -- sh)" = from-stdin ] || fail "exec -i"
  K run talker --image=busybox --restart=Never -- sh -c 'echo hello from talker' > /dev/null || fail "run talker"
  wait_phase talker Succeeded
  [ "$(K logs talker)" = "hello from talker" ] || fail "logs: $(K logs talker 2>&1)"
  out=$(printf 'echo $((6*7))\nexit\n' | K run tmp --rm -i --image=busybox 2>&1)
  echo "$out" | grep -x 42 >/dev/null || fail "run --rm -i: $out"
  echo "$out" | grep 'pod "tmp" deleted' >/dev/null || fail "run --rm did not delete: $out"
  "$NETPOL" down > /dev/null 2>&1 || fail "netpol down"
  rm -f "$T/pid"
  [ -z "$(ip netns list | grep "^$NETPOL_LAB-")" ] || fail "namespaces left: $(ip netns list | grep "^$NETPOL_LAB-")"
}

# ---- one reader: kubectl -f sends what netpol reach reads ------------------

# reader_pods: a server and a client labelled trusted=y, for reach.
reader_pods() {
  cat > "$T/pods.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: x, labels: {app: server}}
spec: {containers: [{name: c, image: probe}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: x, labels: {trusted: "y"}}
spec: {containers: [{name: c, image: probe}]}
YAML
}

# reader_policy FILE PORT_ITEM PEER_ITEM: policy x/p on the server.
reader_policy() {
  printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  podSelector: {matchLabels: {app: server}}\n  ingress:\n  - ports:\n    - %s\n    from:\n    - %s\n' \
    "$2" "$3" > "$1"
}

# What reach makes of the policy: the ports client->server may use among
# 8,10,80,1000 ("all" for every one, "none"), or "error" plus the message.
reach_reads() {
  local out
  if ! out=$(cd "$T" && timeout 30 "$NETPOL" reach -f pods.yaml -f p.yaml --ports 8/TCP,10/TCP,80/TCP,1000/TCP -o json 2> "$T/reach.err"); then
    echo "error $(grep -m1 ': error: ' "$T/reach.err")"
    return
  fi
  local p
  p=$(jq -r '[.flows[] | select(.from == "x/client" and .allowed) | .port | tostring] | join(",")' <<< "$out")
  case $p in 8,10,80,1000) echo all ;; '') echo none ;; *) echo "$p" ;; esac
}

# What kubectl create -f stores: the port ("all" when none) when the peer
# admits the client (label trusted=y), "none" when it does not, or "error"
# plus the message when nothing was stored.
kubectl_reads() {
  K delete networkpolicy p -n x > /dev/null 2>&1
  if ! (cd "$T" && K create -f p.yaml) > "$T/create.out" 2>&1; then
    K get networkpolicy p -n x > /dev/null 2>&1 && { echo "stored despite an error"; return; }
    echo "error $(grep -m1 ': error: ' "$T/create.out")"
    return
  fi
  local j
  j=$(K get networkpolicy p -n x -o json)
  if [ "$(jq -r '.spec.ingress[0].from[0].podSelector.matchLabels.trusted' <<< "$j")" != y ]; then
    echo none
    return
  fi
  jq -r '.spec.ingress[0].ports[0].port // "all" | tostring' <<< "$j"
}

# A chain of aliases that would expand to 9^9 strings (541 bytes).
alias_bomb() {
  printf 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
  local prev=a c
  for c in b c d e f g h i; do
    printf '%s: &%s [*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s,*%s]\n' $c $c $prev $prev $prev $prev $prev $prev $prev $prev $prev
    prev=$c
  done
}

t_create_f_stores_what_reach_reads_and_refuses_what_it_refuses() {
  start_daemon
  reader_pods
  K create ns x > /dev/null || fail "create ns"
  local deep
  deep="port: $(printf '[%.0s' $(seq 200))$(printf ']%.0s' $(seq 200))"
  # port item | peer item | what both must read
  local cases=(
    'port: 010|podSelector: {matchLabels: {trusted: "y"}}|8'
    'port: 0o120|podSelector: {matchLabels: {trusted: "y"}}|80'
    'port: 1_000|podSelector: {matchLabels: {trusted: "y"}}|1000'
    'port: 0x50|podSelector: {matchLabels: {trusted: "y"}}|80'
    'port: 80.0|podSelector: {matchLabels: {trusted: "y"}}|80'
    'port: 8e1|podSelector: {matchLabels: {trusted: "y"}}|80'
    'port: ~|podSelector: {matchLabels: {trusted: "y"}}|all'
    'port: 1e999|podSelector: {matchLabels: {trusted: "y"}}|error'
    'port: .inf|podSelector: {matchLabels: {trusted: "y"}}|error'
    'port: .nan|podSelector: {matchLabels: {trusted: "y"}}|error'
    'port: 99999999999999999999|podSelector: {matchLabels: {trusted: "y"}}|error'
    'port: 80|podSelector: {matchLabels: {trusted: 1e999}}|error'
    'port: 80|podSelector: {matchLabels: {trusted: y}}|80'
    'port: 80|podSelector: {matchLabels: {trusted: "y", trusted: "n"}}|error'
    '{<<: {port: 80, protocol: UDP}, protocol: TCP}|podSelector: {matchLabels: {trusted: "y"}}|80'
    "$deep|podSelector: {matchLabels: {trusted: \"y\"}}|error"
  )
  local c port peer want r k
  for c in "${cases[@]}"; do
    IFS='|' read -r port peer want <<< "$c"
    reader_policy "$T/p.yaml" "$port" "$peer"
    r=$(reach_reads)
    k=$(kubectl_reads)
    [ "${r%% *}" = "$want" ] || fail "$port / $peer: reach read '$r', want $want"
    [ "$k" = "$r" ] || fail "$port / $peer: reach read '$r', kubectl create -f '$k'"
  done
  # a boolean where a port or a label value goes: both refuse it (kubectl
  # through the server's validation, which has no line to give)
  for c in 'port: no|podSelector: {matchLabels: {trusted: "y"}}' 'port: 80|podSelector: {matchLabels: {trusted: no}}'; do
    IFS='|' read -r port peer <<< "$c"
    reader_policy "$T/p.yaml" "$port" "$peer"
    r=$(reach_reads)
    [ "${r%% *}" = error ] || fail "$port / $peer: reach read '$r'"
    K delete networkpolicy p -n x > /dev/null 2>&1
    (cd "$T" && K create -f p.yaml) > "$T/create.out" 2>&1 && fail "$port / $peer: kubectl stored it"
    K get networkpolicy p -n x > /dev/null 2>&1 && fail "$port / $peer: stored despite an error"
  done
  # an alias bomb: refused at once, in bounded memory, by both
  { alias_bomb; cat <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: x}
spec: {podSelector: {}}
YAML
  } > "$T/p.yaml"
  local t0 t1
  t0=$(date +%s%N)
  r=$( (ulimit -v 1000000; reach_reads) )
  k=$( (ulimit -v 1000000; kubectl_reads) )
  t1=$(date +%s%N)
  [ "${r%% *}" = error ] && [ "$k" = "$r" ] || fail "alias bomb: reach read '$r', kubectl '$k'"
  grep -q 'aliases expand to more than' <<< "$k" || fail "alias bomb: $k"
  [ $(( (t1 - t0) / 1000000000 )) -lt 20 ] || fail "alias bomb took $(( (t1 - t0) / 1000000 )) ms"
}

run every_verb_prints_what_kubectl_prints t_every_verb_prints_what_kubectl_prints
run tutorial_lines_make_the_objects_the_tutorial_means t_tutorial_lines_make_the_objects_the_tutorial_means
run first_command_starts_the_daemon_and_down_stops_it t_first_command_starts_the_daemon_and_down_stops_it
run real_kubectl_works_with_netpol_kubeconfig t_real_kubectl_works_with_netpol_kubeconfig
run kubectl_symlink_runs_the_verbs t_kubectl_symlink_runs_the_verbs
run exec_logs_and_run_rm_work_on_real_pods t_exec_logs_and_run_rm_work_on_real_pods
run namespace_delete_is_two_phase_and_refuses_new_content t_namespace_delete_is_two_phase_and_refuses_new_content
run namespace_delete_waits_until_its_content_and_it_are_gone t_namespace_delete_waits_until_its_content_and_it_are_gone
run get_watch_prints_the_table_then_a_line_per_change t_get_watch_prints_the_table_then_a_line_per_change
run create_f_stores_what_reach_reads_and_refuses_what_it_refuses t_create_f_stores_what_reach_reads_and_refuses_what_it_refuses
. "$HERE/verbs_more.sh"
exit 0
