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
    printf '%s\n' "$out" | grep -qx "pod \"hi$i\" deleted" || fail "run $i did not delete: $out"
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
  echo "$out" | grep -Eqx "hello from ($(echo $pods | tr ' ' '|'))" || fail "logs deploy/talk: $out"
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
  [ "$(echo "$out" | grep -c .)" = 1 ] && echo "$out" | grep -Eqx 'run [0-9]+' || fail "logs --previous: $out"
  K logs crash | grep -qx "$out" || fail "the previous run's line is not in the log: $out"
  "$NETPOL" down > /dev/null 2>&1 || fail "netpol down"
  trap - EXIT
  rm -f "$T/pid"
}

run describe_hides_last_applied_and_prints_annotations_whole t_describe_hides_last_applied_and_prints_annotations_whole
run logs_by_deployment_selector_follow_and_previous t_logs_by_deployment_selector_follow_and_previous
