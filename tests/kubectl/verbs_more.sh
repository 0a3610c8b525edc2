# Sourced by suite.sh (its helpers: start_daemon, K, api, fail, run):
# --dry-run on every mutating verb, run --rm -i output, describe, logs by
# TYPE/NAME and -l, verbs netpol does not implement, per-verb help,
# completion, `netpol status`.

# watch_from RESOURCE_PATH FILE: a raw watch from the current revision (no
# synthetic ADDED events for what exists), one JSON event per line.
watch_from() {
  local rv
  rv=$(api "$1" | jq -r .metadata.resourceVersion)
  curl -sN --unix-socket "$T/api.sock" "http://lab$1?watch=true&resourceVersion=$rv" > "$2" 2>/dev/null &
  echo $! >> "$T/watchers"
}

stop_watchers() {
  local p
  for p in $(cat "$T/watchers" 2>/dev/null); do kill "$p" 2>/dev/null; done
  rm -f "$T/watchers"
}

# wait_for_line FILE PATTERN: up to 20 s
wait_for_line() {
  local i
  for i in $(seq 1 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

dry_manifests() {
  cat > "$T/pod.yaml" <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: dry, labels: {app: dry}}
spec: {containers: [{name: c, image: nginx}]}
YAML
  cat > "$T/np.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dry}
spec: {podSelector: {}, policyTypes: [Ingress]}
YAML
  cat > "$T/real-changed.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: real}
spec: {podSelector: {matchLabels: {changed: "yes"}}, policyTypes: [Ingress]}
YAML
}

# Every mutating verb, in one dry-run mode; the expected line after each.
dry_run_every_verb() {
  local m=$1 sfx
  [ "$m" = client ] && sfx='(dry run)' || sfx='(server dry run)'
  expect() {
    local want=$1; shift
    local got
    got=$(K "$@" 2>&1) || fail "$*: exit $?: $got"
    [ "$got" = "$want" ] || fail "$*: said '$got', want '$want'"
  }
  expect "pod/dry created $sfx" create -f "$T/pod.yaml" --dry-run=$m
  expect "namespace/dryns created $sfx" create ns dryns --dry-run=$m
  expect "networkpolicy.networking.k8s.io/dry created $sfx" apply -f "$T/np.yaml" --dry-run=$m
  expect "networkpolicy.networking.k8s.io/real configured $sfx" apply -f "$T/real-changed.yaml" --dry-run=$m
  expect "pod/dryrun created $sfx" run dryrun --image=nginx --dry-run=$m
  expect "deployment.apps/drydep created $sfx" run drydep --image=nginx --replicas=2 --dry-run=$m
  expect "service/drysvc exposed $sfx" expose pod real --port=80 --name=drysvc --dry-run=$m
  expect "pod/real labeled $sfx" label pod real dry=yes --dry-run=$m
  expect "pod \"real\" deleted $sfx" delete pod real --dry-run=$m
  expect "namespace \"other\" deleted $sfx" delete ns other --dry-run=$m
}

t_dry_run_persists_nothing_and_sends_no_watch_event() {
  start_daemon --no-controllers
  dry_manifests
  K run real --image=nginx --labels=app=real > /dev/null || fail "run real"
  K create ns other > /dev/null || fail "create ns other"
  sed 's/changed: "yes"/app: real/' "$T/real-changed.yaml" > "$T/real.yaml"
  K apply -f "$T/real.yaml" > /dev/null || fail "apply real"
  local r
  for r in /api/v1/pods /apis/apps/v1/deployments /api/v1/services \
           /apis/networking.k8s.io/v1/networkpolicies /api/v1/namespaces; do
    watch_from "$r" "$T/w.$(basename $r)"
  done
  # (a watch from a revision replays every later event, however late it connects)
  dry_run_every_verb client
  dry_run_every_verb server
  # the objects are as before
  [ "$(K get pods,deploy,svc,netpol -A -o name | sort | tr '\n' ' ')" = "networkpolicy.networking.k8s.io/real pod/real " ] ||
    fail "left: $(K get pods,deploy,svc,netpol -A -o name)"
  K get ns dryns > /dev/null 2>&1 && fail "namespace dryns exists"
  [ "$(K get ns other -o jsonpath='{.status.phase}')" = Active ] || fail "ns other: $(K get ns other -o yaml)"
  [ "$(K get pod real -o jsonpath='{.metadata.labels}')" = '{"app":"real"}' ] || fail "labels: $(K get pod real -o jsonpath='{.metadata.labels}')"
  [ "$(K get netpol real -o jsonpath='{.spec.podSelector.matchLabels}')" = '{"app":"real"}' ] || fail "policy changed"
  # then one real change per kind: the first (and only) event of each watch
  K label pod real sentinel=1 > /dev/null
  K create ns sentinel > /dev/null
  K run sentinel --image=nginx --replicas=1 > /dev/null
  K expose pod real --port=80 --name=sentinel > /dev/null
  sed 's/name: real/name: sentinel/' "$T/real-changed.yaml" | K create -f - > /dev/null
  for r in pods deployments services networkpolicies namespaces; do
    wait_for_line "$T/w.$r" sentinel || fail "watch of $r: no sentinel event: $(cat "$T/w.$r")"
    [ "$(head -n 1 "$T/w.$r" | grep -c sentinel)" = 1 ] || fail "watch of $r saw a dry run: $(head -n 1 "$T/w.$r")"
  done
  stop_watchers
}

t_dry_run_client_prints_the_object_and_validates_locally() {
  start_daemon --no-controllers
  dry_manifests
  K run web --image=nginx --dry-run=client -o yaml > "$T/o" 2>&1 || fail "run -o yaml: $(cat "$T/o")"
  grep -qx 'kind: Pod' "$T/o" && grep -qx '  name: web' "$T/o" || fail "run -o yaml: $(cat "$T/o")"
  K create ns x --dry-run=server -o json > "$T/o" 2>&1 || fail "create ns -o json: $(cat "$T/o")"
  [ "$(jq -r .metadata.name "$T/o")" = x ] || fail "create ns -o json: $(cat "$T/o")"
  K create -f "$T/pod.yaml" --dry-run=client -o name > "$T/o" 2>&1
  [ "$(cat "$T/o")" = pod/dry ] || fail "-o name: $(cat "$T/o")"
  K run Bad_Name --image=nginx --dry-run=client > "$T/o" 2>&1 && fail "a bad name passed a client dry run"
  grep -q '^The Pod "Bad_Name" is invalid: ' "$T/o" || fail "bad name: $(cat "$T/o")"
  K run a --image=nginx --dry-run=maybe > "$T/o" 2>&1 && fail "--dry-run=maybe accepted"
  grep -q 'Invalid dry-run value (maybe)' "$T/o" || fail "--dry-run=maybe: $(cat "$T/o")"
  K run a --image=busybox -i --dry-run=client > "$T/o" 2>&1 && fail "-i with --dry-run accepted"
  [ -z "$(K get pods -o name)" ] || fail "pods stored: $(K get pods -o name)"
  K get ns x > /dev/null 2>&1 && fail "namespace x stored"
  # --save-config: a later apply of the same file has nothing to change
  [ "$(K create -f "$T/pod.yaml" --save-config 2>&1)" = "pod/dry created" ] || fail "create --save-config"
  [ "$(K apply -f "$T/pod.yaml" 2>&1)" = "pod/dry unchanged" ] || fail "apply after --save-config: $(K apply -f "$T/pod.yaml" 2>&1)"
  return 0
}

run dry_run_persists_nothing_and_sends_no_watch_event t_dry_run_persists_nothing_and_sends_no_watch_event
run dry_run_client_prints_the_object_and_validates_locally t_dry_run_client_prints_the_object_and_validates_locally

# run --rm -i prints what the container wrote, however early it wrote and
# exited: RUN_RM_RUNS times (default 100), each pod deleted.
t_run_rm_i_never_loses_early_output() {
  start_node_daemon
  trap '"$NETPOL" down > /dev/null 2>&1' EXIT
  local i out t0 t1 n=${RUN_RM_RUNS:-100}
  t0=$(date +%s%N)
  for i in $(seq 1 "$n"); do
    out=$(K run "hi$i" --rm -i --image=busybox -- /bin/sh -c 'echo hi' < /dev/null 2>&1)
    [ "$(printf '%s\n' "$out" | head -n 1)" = hi ] || fail "run $i of $n printed: $out"
    printf '%s\n' "$out" | grep -x "pod \"hi$i\" deleted" >/dev/null || fail "run $i did not delete: $out"
  done
  t1=$(date +%s%N)
  echo "run --rm -i: $n runs, $(( (t1 - t0) / 1000000 / n )) ms per run" > "$T/figure"
  "$NETPOL" down > /dev/null 2>&1 || fail "netpol down"
  trap - EXIT
  rm -f "$T/pid"
}

run run_rm_i_never_loses_early_output t_run_rm_i_never_loses_early_output
[ -f "$ROOT/$COUNT/figure" ] && cat "$ROOT/$COUNT/figure"

t_describe_hides_last_applied_and_prints_annotations_whole() {
  start_daemon --no-controllers
  local long
  long=$(printf 'x%.0s' $(seq 1 200))
  cat > "$T/a.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: annotated
  annotations: {note: "a,b=c, d", long: "$long", multi: "one\ntwo"}
spec: {containers: [{name: c, image: nginx}]}
YAML
  K apply -f "$T/a.yaml" > /dev/null || fail "apply"
  K describe pod annotated > "$T/o" 2>&1 || fail "describe: $(cat "$T/o")"
  grep -q 'last-applied' "$T/o" && fail "last-applied shown: $(cat "$T/o")"
  grep -qx 'Annotations:  long:' "$T/o" || fail "long annotation: $(grep -A3 '^Annotations' "$T/o")"
  grep -qx "                $(printf 'x%.0s' $(seq 1 138))\.\.\." "$T/o" || fail "long value: $(grep -A3 '^Annotations' "$T/o")"
  grep -qx '              multi:' "$T/o" && grep -qx '                one' "$T/o" && grep -qx '                two' "$T/o" ||
    fail "multi-line value: $(grep -A8 '^Annotations' "$T/o")"
  grep -qx '              note: a,b=c, d' "$T/o" || fail "note: $(grep -A8 '^Annotations' "$T/o")"
}

t_logs_by_deployment_selector_follow_and_previous() {
  start_node_daemon
  trap '"$NETPOL" down > /dev/null 2>&1' EXIT
  K run talk --image=busybox --replicas=2 -- /bin/sh -c 'echo hello from $(hostname); exec sleep 3600' > /dev/null || fail "run talk"
  local i pods out
  for i in $(seq 1 200); do
    pods=$(api '/api/v1/namespaces/default/pods?labelSelector=run%3Dtalk' | jq -r '.items[] | select(.status.phase == "Running") | .metadata.name' | sort)
    [ "$(echo "$pods" | grep -c .)" = 2 ] && [ "$(K logs -l run=talk 2>/dev/null | grep -c '^hello from')" = 2 ] && break
    sleep 0.1
  done
  [ "$(echo "$pods" | grep -c .)" = 2 ] || fail "pods of talk: $pods"
  [ "$(K logs -l run=talk | sort)" = "$(for p in $pods; do echo "hello from $p"; done)" ] || fail "logs -l: $(K logs -l run=talk 2>&1)"
  [ "$(K logs -l run=talk --prefix | sort)" = "$(for p in $pods; do echo "[pod/$p/talk] hello from $p"; done)" ] ||
    fail "logs -l --prefix: $(K logs -l run=talk --prefix 2>&1)"
  out=$(K logs deploy/talk 2> "$T/err") || fail "logs deploy/talk: $out $(cat "$T/err")"
  echo "$out" | grep -Ex "hello from ($(echo $pods | tr ' ' '|'))" >/dev/null || fail "logs deploy/talk: $out"
  grep -q '^Found 2 pods, using pod/talk-' "$T/err" || fail "logs deploy/talk said: $(cat "$T/err")"
  K logs deploy/nope > "$T/o" 2>&1 && fail "logs deploy/nope succeeded"
  grep -q 'deployments.apps "nope" not found' "$T/o" || fail "logs deploy/nope: $(cat "$T/o")"
  # -f on a selector: both streams, and it keeps following
  K logs -f -l run=talk > "$T/f" 2>&1 &
  local fpid=$!
  wait_for_line "$T/f" . && for i in $(seq 1 200); do [ "$(grep -c '^hello from' "$T/f")" = 2 ] && break; sleep 0.1; done
  [ "$(grep -c '^hello from' "$T/f")" = 2 ] || fail "logs -f -l: $(cat "$T/f")"
  kill -0 "$fpid" 2>/dev/null || fail "logs -f -l stopped following"
  kill "$fpid"; wait "$fpid" 2>/dev/null
  # --previous: the run before the current one
  K logs "$(echo "$pods" | head -n 1)" --previous > "$T/o" 2>&1 && fail "--previous without a previous run"
  grep -q 'previous terminated container "talk" in pod' "$T/o" || fail "--previous said: $(cat "$T/o")"
  K run crash --image=busybox -- /bin/sh -c 'echo "run $RANDOM$RANDOM"; exit 1' > /dev/null || fail "run crash"
  for i in $(seq 1 200); do
    [ "$(api /api/v1/namespaces/default/pods/crash | jq -r '.status.containerStatuses[0].restartCount // 0')" -ge 1 ] && break
    sleep 0.1
  done
  out=$(K logs crash --previous 2>&1) || fail "logs --previous: $out"
  [ "$(echo "$out" | grep -c .)" = 1 ] && echo "$out" | grep -Ex 'run [0-9]+' >/dev/null || fail "logs --previous: $out"
  K logs crash | grep -x "$out" >/dev/null || fail "the previous run's line is not in the log: $out"
  "$NETPOL" down > /dev/null 2>&1 || fail "netpol down"
  trap - EXIT
  rm -f "$T/pid"
}

run describe_hides_last_applied_and_prints_annotations_whole t_describe_hides_last_applied_and_prints_annotations_whole
run logs_by_deployment_selector_follow_and_previous t_logs_by_deployment_selector_follow_and_previous

t_unimplemented_verbs_point_to_the_real_kubectl() {
  setup_cli
  local v out
  for v in edit diff wait rollout scale port-forward api-resources explain config; do
    out=$("$T/bin/kubectl" $v deploy/nginx 2>&1) && fail "kubectl $v exited 0"
    printf '%s\n' "$out" | sed -n 1p | grep -x "error: netpol's kubectl does not implement $v; use the real kubectl:" >/dev/null ||
      fail "kubectl $v said: $out"
    printf '%s\n' "$out" | grep -x '  netpol kubeconfig > /tmp/netpol.kubeconfig' >/dev/null || fail "kubectl $v: $out"
    printf '%s\n' "$out" | grep -Ex "  KUBECONFIG=/tmp/netpol.kubeconfig (/.*/)?kubectl $v deploy/nginx" >/dev/null || fail "kubectl $v: $out"
  done
  for v in edit diff wait rollout scale port-forward api-resources config; do
    "$NETPOL" $v x > "$T/o" 2>&1 && fail "netpol $v exited 0"
    grep -q "does not implement $v" "$T/o" || fail "netpol $v said: $(cat "$T/o")"
  done
  # the command it gives works: the real kubectl against this lab
  [ -n "$KUBECTL" ] && [ "$(readlink -f "$KUBECTL")" != "$(readlink -f "$NETPOL")" ] || { echo "no real kubectl" > "$T/skip"; return 0; }
  start_daemon
  out=$(PATH="$(dirname "$KUBECTL"):$PATH" "$NETPOL" api-resources 2>&1 | sed -n 3p)
  "$NETPOL" kubeconfig > "$T/kc" 2>/dev/null || fail "netpol kubeconfig"
  eval "${out//\/tmp\/netpol.kubeconfig/$T/kc}" > "$T/o" 2>&1 || fail "the command given ($out) failed: $(cat "$T/o")"
  grep -q '^networkpolicies ' "$T/o" || fail "real kubectl api-resources: $(cat "$T/o")"
}

t_help_verb_and_environment() {
  setup_cli
  local v
  for v in run create apply delete label expose logs get describe exec; do
    "$NETPOL" help $v > "$T/h" 2>&1 || fail "netpol help $v failed: $(cat "$T/h")"
    "$NETPOL" $v --help > "$T/h2" 2>&1 || fail "netpol $v --help failed"
    cmp -s "$T/h" "$T/h2" || fail "help $v and $v --help differ"
    grep -q "kubectl $v" "$T/h" || fail "help $v: $(head -n 5 "$T/h")"
    grep -q '^Options:' "$T/h" && grep -q 'NETPOL_SOCKET' "$T/h" || fail "help $v: $(cat "$T/h")"
  done
  "$T/bin/kubectl" help run > "$T/h" 2>&1 && grep -q 'dry-run=none|client|server' "$T/h" || fail "kubectl help run: $(cat "$T/h")"
  "$NETPOL" help run | grep 'Create and run a particular image' >/dev/null || fail "help run is the general help"
  for v in "$NETPOL" "$T/bin/kubectl"; do
    "$v" --help > "$T/h" 2>&1 || fail "$v --help failed"
    for e in NETPOL_LAB NETPOL_SOCKET NETPOL_STATE_DIR NETPOL_SERVE_FLAGS; do
      grep -q "^  $e " "$T/h" || fail "$v --help does not mention $e"
    done
    grep -q 'status' "$T/h" && grep -q 'completion' "$T/h" || fail "$v --help lacks verbs: $(cat "$T/h")"
  done
  "$NETPOL" help nope > "$T/h" 2>&1 && fail "help nope succeeded"
  return 0
}

t_completion_bash_completes_verbs_kinds_and_flags() {
  "$NETPOL" completion bash > "$T/c.bash" || fail "completion bash"
  "$NETPOL" completion fish > "$T/o" 2>&1 && fail "completion fish accepted"
  local got
  got=$(PATH="$(dirname "$NETPOL"):$PATH" bash --norc -c '
    source "$1" || exit 9
    c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _netpol_complete; echo "${COMPREPLY[*]}"; }
    c netpol ge; c netpol get deploy; c netpol run x --dry; c netpol -n x desc; c netpol completion z; c netpol help sta
  ' _ "$T/c.bash") || fail "bash could not source it: $got"
  [ "$got" = "$(printf 'get\ndeployments deployment deploy\n--dry-run\ndescribe\nzsh\nstatus')" ] || fail "completions: $got"
  if command -v zsh > /dev/null; then
    "$NETPOL" completion zsh > "$T/c.zsh" && zsh -fc 'autoload -U compinit && compinit -u; source "$1"' _ "$T/c.zsh" > "$T/o" 2>&1 ||
      fail "zsh could not source it: $(cat "$T/o")"
  fi
  return 0
}

t_status_lists_running_and_stale_labs() {
  start_daemon
  local i line rec=/run/netpol/$NETPOL_LAB.daemon pid
  pid=$(cat "$T/pid")
  for i in $(seq 1 100); do "$NETPOL" status | grep "^$NETPOL_LAB " >/dev/null && break; sleep 0.1; done
  line=$("$NETPOL" status | grep "^$NETPOL_LAB ")
  echo "$line" | grep -E "^$NETPOL_LAB +running +$pid +$T/api.sock +https://127\.0\.0\.1:[0-9]+$" >/dev/null || fail "status: $("$NETPOL" status)"
  "$NETPOL" status | sed -n 1p | grep -E '^LAB +DAEMON +PID +SOCKET +TLS$' >/dev/null || fail "header: $("$NETPOL" status | head -n 1)"
  kill -KILL "$pid"; wait "$pid" 2>/dev/null
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  "$NETPOL" status | grep -E "^$NETPOL_LAB +stale +$pid " >/dev/null || { rm -f "$rec"; fail "after kill: $("$NETPOL" status)"; }
  rm -f "$rec" "$T/pid"
  start_daemon
  pid=$(cat "$T/pid")
  for i in $(seq 1 100); do [ -f "$rec" ] && break; sleep 0.1; done
  kill -TERM "$pid"
  for i in $(seq 1 200); do [ -f "$rec" ] || break; sleep 0.1; done
  [ -f "$rec" ] && { rm -f "$rec"; fail "the record outlived a clean stop"; }
  rm -f "$T/pid"
  return 0
}

run unimplemented_verbs_point_to_the_real_kubectl t_unimplemented_verbs_point_to_the_real_kubectl
run help_verb_and_environment t_help_verb_and_environment
run completion_bash_completes_verbs_kinds_and_flags t_completion_bash_completes_verbs_kinds_and_flags
run status_lists_running_and_stale_labs t_status_lists_running_and_stale_labs
