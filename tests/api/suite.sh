#!/usr/bin/env bash
# The lab API server, end to end: `netpol serve` in a throwaway state
# directory per test, driven with curl over its unix socket and TLS port,
# and with the real kubectl. Prints "PASS name" / "FAIL name: why" (and
# "SKIP name: why" when a tool is missing). Needs NETPOL=/path/to/netpol.
#
# Only 127.0.0.1 and unix sockets are used; TCP ports are picked by the
# daemon (--listen 127.0.0.1:0). Every daemon is killed at the end, even
# when a test fails.
set -uo pipefail
. "$(dirname "$0")/../lib/daemon.sh"
suite_init api "$@"

# start_daemon [extra serve args...]: a daemon without controllers.
start_daemon() { daemon_start --no-controllers "$@"; }
stop_daemon() { daemon_stop "$@"; }

# lines FILE N: FILE has at least N lines
lines() { [ "$(wc -l < "$1")" -ge "$2" ]; }

pod_json() { # pod_json NAME [LABELS-JSON]
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","labels":%s},"spec":{"containers":[{"name":"c","image":"nginx","ports":[{"containerPort":80}]}]}}' "$1" "${2:-{\}}"
}

# ---- tests: the daemon -------------------------------------------------------------

t_first_start_makes_namespaces_pki_and_a_private_socket() {
  start_daemon
  expect_code 200 GET /api/v1/namespaces
  [ "$(jbody '[.items[].metadata.name] | join(",")')" = "default,kube-system" ] ||
    fail "namespaces: $(jbody '[.items[].metadata.name]')"
  [ "$(stat -c %a "$T/api.sock")" = 600 ] || fail "socket mode $(stat -c %a "$T/api.sock")"
  [ "$(stat -c %a "$T/state/token")" = 600 ] || fail "token mode"
  [ "$(stat -c %a "$T/state/pki/ca.key")" = 600 ] || fail "ca.key mode"
  openssl verify -CAfile "$T/state/pki/ca.crt" "$T/state/pki/apiserver.crt" > /dev/null ||
    fail "server certificate does not verify against the lab CA"
}

t_sigterm_exits_cleanly_and_a_restart_reuses_state() {
  start_daemon
  expect_code 201 POST /api/v1/namespaces '{"metadata":{"name":"kept"}}'
  local ca token
  ca=$(sha256sum < "$T/state/pki/ca.crt")
  token=$(cat "$T/state/token")
  stop_daemon TERM || fail "exit status $? after SIGTERM"
  [ ! -e "$T/api.sock" ] || fail "socket left behind"
  start_daemon
  [ "$ca" = "$(sha256sum < "$T/state/pki/ca.crt")" ] || fail "CA regenerated"
  [ "$token" = "$(cat "$T/state/token")" ] || fail "token regenerated"
  expect_code 200 GET /api/v1/namespaces
  [ "$(jbody '[.items[].metadata.name] | join(",")')" = "default,kept,kube-system" ] ||
    fail "namespaces after restart: $(jbody '[.items[].metadata.name]')"
  stop_daemon INT || fail "exit status $? after SIGINT"
}

t_second_daemon_on_the_same_state_is_refused() {
  start_daemon
  if "$NETPOL" serve --state-dir "$T/state" --socket "$T/other.sock" --no-node --no-controllers 2> "$T/second.err"; then
    fail "second daemon started"
  fi
  grep -q "another daemon" "$T/second.err" || fail "message: $(cat "$T/second.err")"
}

t_stale_socket_file_is_replaced() {
  python3 -c "import socket; s=socket.socket(socket.AF_UNIX); s.bind('$T/api.sock')"
  start_daemon
  expect_code 200 GET /version
}

# ---- tests: REST ----------------------------------------------------------------------

# kind table: collection path | item name | create body | strategic patch
kinds() {
  cat <<'EOF'
/api/v1/namespaces|team-a|{"metadata":{"name":"team-a"}}|{"metadata":{"annotations":{"s":"1"}}}
/api/v1/namespaces/default/pods|web|{"metadata":{"name":"web","labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx","ports":[{"containerPort":80}]}]}}|{"spec":{"containers":[{"name":"c","image":"httpd"}]}}
/api/v1/namespaces/default/services|web|{"metadata":{"name":"web"},"spec":{"selector":{"app":"web"},"ports":[{"port":80}]}}|{"spec":{"ports":[{"port":80,"targetPort":8080}]}}
/api/v1/namespaces/default/endpoints|web|{"metadata":{"name":"web"},"subsets":[{"addresses":[{"ip":"10.0.0.1"}],"ports":[{"port":80}]}]}|{"metadata":{"annotations":{"s":"1"}}}
/apis/apps/v1/namespaces/default/deployments|web|{"metadata":{"name":"web"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}|{"spec":{"replicas":3}}
/apis/networking.k8s.io/v1/namespaces/default/networkpolicies|deny|{"metadata":{"name":"deny"},"spec":{"podSelector":{}}}|{"spec":{"ingress":[{}]}}
EOF
}

t_every_kind_round_trips_through_every_verb() {
  start_daemon
  local coll name body smp item rv
  while IFS='|' read -r coll name body smp; do
    item="$coll/$name"
    expect_code 201 POST "$coll" "$body"
    rv=$(jbody .metadata.resourceVersion)
    [ "$(jbody .metadata.uid)" != null ] || fail "$coll: no uid"
    expect_code 200 GET "$item"
    expect_code 200 GET "$coll"
    [ "$(jq -r --arg n "$name" '[.items[].metadata.name] | index($n) != null' "$T/body")" = true ] ||
      fail "$coll: list lacks $name"
    expect_code 200 GET "$item"
    jq '.metadata.labels.put = "yes"' "$T/body" > "$T/put.json"
    expect_code 200 PUT "$item" "$(cat "$T/put.json")"
    [ "$(jbody .metadata.labels.put)" = yes ] || fail "$item: PUT lost"
    [ "$(jbody .metadata.resourceVersion)" -gt "$rv" ] || fail "$item: rv did not grow"
    expect_code 200 PATCH "$item" '{"metadata":{"labels":{"merge":"yes"}}}' application/merge-patch+json
    expect_code 200 PATCH "$item" "$smp" application/strategic-merge-patch+json
    expect_code 200 PATCH "$item" '[{"op":"add","path":"/metadata/labels/json","value":"yes"}]' application/json-patch+json
    [ "$(jbody '.metadata.labels | [.put, .merge, .json] | join(",")')" = yes,yes,yes ] ||
      fail "$item: labels after patches: $(jbody .metadata.labels)"
    expect_code 200 DELETE "$item"
    [ "$(jbody .metadata.name)" = "$name" ] || fail "$item: DELETE did not return the object"
    if [ "$coll" = /api/v1/namespaces ]; then
      # two-phase: Terminating until the namespace controller (off here) empties it
      expect_code 200 GET "$item"
      [ "$(jbody '.status.phase')" = Terminating ] && [ "$(jbody .metadata.deletionTimestamp)" != null ] ||
        fail "$item: not Terminating after DELETE: $(jbody .status)"
      continue
    fi
    expect_code 404 GET "$item"
    [ "$(jbody .reason)" = NotFound ] || fail "$item: 404 without a NotFound Status"
  done < <(kinds)
}

t_strategic_merge_patch_merges_lists_by_key() {
  start_daemon
  expect_code 201 POST /api/v1/namespaces/default/pods "$(pod_json web)"
  expect_code 200 PATCH /api/v1/namespaces/default/pods/web \
    '{"spec":{"containers":[{"name":"c","ports":[{"containerPort":443}]},{"name":"side","image":"busybox"}]}}' \
    application/strategic-merge-patch+json
  [ "$(jbody '[.spec.containers[].name] | join(",")')" = c,side ] || fail "containers: $(jbody .spec.containers)"
  [ "$(jbody '[.spec.containers[0].ports[].containerPort] | join(",")')" = 80,443 ] ||
    fail "ports: $(jbody .spec.containers[0].ports)"
  expect_code 200 PATCH /api/v1/namespaces/default/pods/web \
    '{"spec":{"containers":[{"name":"side","$patch":"delete"}]}}' application/strategic-merge-patch+json
  [ "$(jbody '[.spec.containers[].name] | join(",")')" = c ] || fail "delete directive"
}

t_all_namespaces_lists_and_selectors() {
  start_daemon
  expect_code 201 POST /api/v1/namespaces '{"metadata":{"name":"b"}}'
  expect_code 201 POST /api/v1/namespaces/default/pods "$(pod_json a1 '{"app":"web"}')"
  expect_code 201 POST /api/v1/namespaces/b/pods "$(pod_json b1 '{"app":"web"}')"
  expect_code 201 POST /api/v1/namespaces/b/pods "$(pod_json b2 '{"app":"db"}')"
  expect_code 200 GET '/api/v1/pods?labelSelector=app%3Dweb'
  [ "$(jbody '[.items[] | .metadata.namespace + "/" + .metadata.name] | join(",")')" = b/b1,default/a1 ] ||
    fail "labelSelector: $(jbody '[.items[].metadata.name]')"
  expect_code 200 GET '/api/v1/namespaces/b/pods?labelSelector=app+notin+(web)'
  [ "$(jbody '[.items[].metadata.name] | join(",")')" = b2 ] || fail "notin"
  expect_code 200 GET '/api/v1/pods?fieldSelector=metadata.name%3Db1'
  [ "$(jbody '.items | length')" = 1 ] || fail "fieldSelector"
  expect_code 400 GET '/api/v1/pods?labelSelector=a+in+('
  expect_code 200 GET /apis/apps/v1/deployments
  expect_code 200 GET /apis/networking.k8s.io/v1/networkpolicies
  expect_code 200 GET /api/v1/services
  expect_code 200 GET /api/v1/endpoints
}

t_errors_are_kubernetes_statuses() {
  start_daemon
  expect_code 201 POST /api/v1/namespaces/default/pods "$(pod_json web)"
  expect_code 409 POST /api/v1/namespaces/default/pods "$(pod_json web)"
  [ "$(jbody .reason)" = AlreadyExists ] || fail "409 reason $(jbody .reason)"
  [ "$(jbody .kind)/$(jbody .code)" = Status/409 ] || fail "not a Status"
  expect_code 404 POST /api/v1/namespaces/nowhere/pods "$(pod_json web)"
  expect_code 422 POST /api/v1/namespaces/default/pods "$(pod_json Web_Bad)"
  [ "$(jbody .reason)" = Invalid ] || fail "422 reason"
  [ "$(jbody .details.causes[0].field)" = metadata.name ] || fail "422 causes: $(jbody .details)"
  expect_code 400 POST /api/v1/namespaces/default/pods 'not json'
  expect_code 405 PUT /api/v1/namespaces/default/pods '{}'
  [ "$(jbody .reason)" = MethodNotAllowed ] || fail "405 reason"
  expect_code 415 PATCH /api/v1/namespaces/default/pods/web '{}' application/apply-patch+yaml
  expect_code 404 GET /api/v1/widgets
}

t_json_bodies_are_read_by_the_manifest_reader() {
  start_daemon
  local np='{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"p"},"spec":{"podSelector":{},"ingress":[{"ports":[{"port":PORT}]}]}}'
  expect_code 201 POST /apis/networking.k8s.io/v1/namespaces/default/networkpolicies "${np/PORT/80.0}"
  [ "$(jq -c '.spec.ingress[0].ports[0].port' "$T/body")" = 80 ] || fail "80.0 answered as $(jq -c .spec "$T/body")"
  expect_code 200 GET /apis/networking.k8s.io/v1/namespaces/default/networkpolicies/p
  grep -q '"port": *80[,}]' "$T/body" || fail "80.0 stored as $(cat "$T/body")"
  local bad
  for bad in 1e999 99999999999999999999 '80, "port": 81'; do
    expect_code 400 POST /apis/networking.k8s.io/v1/namespaces/default/networkpolicies "${np/PORT/$bad}"
    [ "$(jbody .reason)" = BadRequest ] || fail "$bad: reason $(jbody .reason)"
  done
  grep -q 'line 1, column [0-9]*: JSON syntax error: duplicate object key' "$T/body" || fail "duplicate key: $(cat "$T/body")"
  local deep
  deep="$(printf '[%.0s' $(seq 200))$(printf ']%.0s' $(seq 200))"
  expect_code 400 POST /apis/networking.k8s.io/v1/namespaces/default/networkpolicies "${np/PORT/$deep}"
  grep -q 'nesting deeper than' "$T/body" || fail "depth 200: $(cat "$T/body")"
}

t_stale_update_is_409_conflict() {
  start_daemon
  expect_code 201 POST /api/v1/namespaces/default/pods "$(pod_json web)"
  cp "$T/body" "$T/v1.json"
  jq '.metadata.labels.a = "1"' "$T/v1.json" > "$T/a.json"
  jq '.metadata.labels.b = "2"' "$T/v1.json" > "$T/b.json"
  expect_code 200 PUT /api/v1/namespaces/default/pods/web "$(cat "$T/a.json")"
  expect_code 409 PUT /api/v1/namespaces/default/pods/web "$(cat "$T/b.json")"
  [ "$(jbody .reason)" = Conflict ] || fail "reason $(jbody .reason)"
  expect_code 200 GET /api/v1/namespaces/default/pods/web
  [ "$(jbody .metadata.labels.a)/$(jbody .metadata.labels.b)" = 1/null ] || fail "the stale write landed"
}

t_concurrent_writers_on_one_object_lose_no_update() {
  start_daemon
  expect_code 201 POST /api/v1/namespaces/default/pods "$(pod_json web)"
  # 4 writers x 10 read-modify-write rounds with retry on 409: every
  # label must land, which only holds if stale writes are refused.
  local w writers=()
  for w in 1 2 3 4; do
    (
      for i in $(seq 1 10); do
        while :; do
          obj=$(curl -s --unix-socket "$T/api.sock" http://lab/api/v1/namespaces/default/pods/web)
          body=$(jq -c ".metadata.labels[\"w$w-$i\"] = \"x\"" <<< "$obj")
          code=$(curl -s --unix-socket "$T/api.sock" -X PUT -H 'Content-Type: application/json' \
            --data-binary "$body" -o /dev/null -w '%{http_code}' http://lab/api/v1/namespaces/default/pods/web)
          [ "$code" = 200 ] && break
          [ "$code" = 409 ] || exit 1
        done
      done
    ) &
    writers+=($!)
  done
  wait "${writers[@]}"
  expect_code 200 GET /api/v1/namespaces/default/pods/web
  [ "$(jbody '.metadata.labels | keys | length')" = 40 ] || fail "labels: $(jbody '.metadata.labels | keys | length') of 40"
}

t_request_bodies_over_3_mib_are_413() {
  start_daemon
  head -c $((3 * 1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' > "$T/big"
  local code
  code=$(curl -s --unix-socket "$T/api.sock" -X POST -H 'Content-Type: application/json' \
    --data-binary @"$T/big" -o "$T/body" -w '%{http_code}' http://lab/api/v1/namespaces/default/pods)
  [ "$code" = 413 ] || fail "content-length body: got $code"
  [ "$(jbody .reason)" = RequestEntityTooLarge ] || fail "reason $(jbody .reason)"
  code=$(curl -s --unix-socket "$T/api.sock" -X POST -H 'Content-Type: application/json' \
    -H 'Transfer-Encoding: chunked' --data-binary @"$T/big" -o "$T/body" -w '%{http_code}' \
    http://lab/api/v1/namespaces/default/pods)
  [ "$code" = 413 ] || fail "chunked body: got $code"
  expect_code 200 GET /version
}

# ---- tests: TLS and tokens -------------------------------------------------------------

t_tcp_api_needs_the_token_and_reveals_nothing_without_it() {
  start_daemon
  local url="https://127.0.0.1:$PORT" code tok
  tok=$(cat "$T/state/token")
  for path in /api/v1/namespaces /version /api /apis /openapi/v3; do
    code=$(curl -s --cacert "$T/state/pki/ca.crt" -o "$T/body" -w '%{http_code}' "$url$path")
    [ "$code" = 401 ] || fail "$path without token: $code"
    [ "$(jbody .reason)" = Unauthorized ] || fail "$path: body $(head -c 200 "$T/body")"
    grep -q kube-system "$T/body" && fail "$path: 401 body leaks data"
  done
  code=$(curl -s --cacert "$T/state/pki/ca.crt" -H "Authorization: Bearer x$tok" -o /dev/null \
    -w '%{http_code}' "$url/api/v1/namespaces")
  [ "$code" = 401 ] || fail "wrong token: $code"
  code=$(curl -s --cacert "$T/state/pki/ca.crt" -H "Authorization: Bearer $tok" -o "$T/body" \
    -w '%{http_code}' "$url/api/v1/namespaces")
  [ "$code" = 200 ] || fail "with token: $code"
  curl -s --cacert "$T/state/pki/ca.crt" -H "Authorization: Bearer $tok" \
    "https://localhost:$PORT/version" > /dev/null || fail "certificate not valid for localhost"
}

# ---- tests: watch -----------------------------------------------------------------------

t_watch_delivers_every_later_change_once_and_in_order() {
  start_daemon
  expect_code 200 GET /api/v1/namespaces/default/pods
  local rv
  rv=$(jbody .metadata.resourceVersion)
  curl -sN --unix-socket "$T/api.sock" -m 20 \
    "http://lab/api/v1/namespaces/default/pods?watch=1&resourceVersion=$rv" > "$T/watch" &
  local wpid=$! i
  : > "$T/expected"
  for i in $(seq 1 20); do
    expect_code 201 POST /api/v1/namespaces/default/pods "$(pod_json p$i)"
    echo "ADDED p$i" >> "$T/expected"
  done
  for i in $(seq 1 20 | shuf); do
    expect_code 200 PATCH /api/v1/namespaces/default/pods/p$i '{"metadata":{"labels":{"x":"y"}}}' application/merge-patch+json
    echo "MODIFIED p$i" >> "$T/expected"
  done
  for i in $(seq 1 2 20); do
    expect_code 200 DELETE /api/v1/namespaces/default/pods/p$i
    echo "DELETED p$i" >> "$T/expected"
  done
  # a change in another namespace must not show up (before the marker,
  # a change here made after it: events come in order)
  expect_code 201 POST /api/v1/namespaces/kube-system/pods "$(pod_json other)"
  expect_code 201 POST /api/v1/namespaces/default/pods "$(pod_json marker)"
  echo "ADDED marker" >> "$T/expected"
  wait_for 30 lines "$T/watch" 51
  kill "$wpid" 2>/dev/null
  jq -r '.type + " " + .object.metadata.name' "$T/watch" > "$T/got"
  diff -u "$T/expected" "$T/got" > "$T/diff" || fail "events differ: $(head -c 300 "$T/diff")"
  jq -r .object.metadata.resourceVersion "$T/watch" | awk 'NR > 1 && $1 <= prev { bad = 1 } { prev = $1 } END { exit bad }' ||
    fail "resourceVersions not increasing"
}

t_watch_with_parallel_writers_sees_each_write_once() {
  start_daemon
  expect_code 200 GET /api/v1/pods
  local rv w
  rv=$(jbody .metadata.resourceVersion)
  curl -sN --unix-socket "$T/api.sock" -m 30 "http://lab/api/v1/pods?watch=true&resourceVersion=$rv" > "$T/watch" &
  local wpid=$! writers=()
  for w in 1 2 3 4; do
    (for i in $(seq 1 25); do
      curl -s --unix-socket "$T/api.sock" -o /dev/null -X POST -H 'Content-Type: application/json' \
        --data-binary "$(pod_json w$w-$i)" http://lab/api/v1/namespaces/default/pods
    done) &
    writers+=($!)
  done
  wait "${writers[@]}"
  wait_for 30 lines "$T/watch" 100
  kill "$wpid" 2>/dev/null
  [ "$(wc -l < "$T/watch")" = 100 ] || fail "$(wc -l < "$T/watch") events, want 100"
  [ "$(jq -r .object.metadata.name "$T/watch" | sort -u | wc -l)" = 100 ] || fail "duplicates"
  jq -r .object.metadata.resourceVersion "$T/watch" | awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad }' ||
    fail "resourceVersions not consecutive"
}

t_watch_from_a_compacted_version_is_410_expired() {
  start_daemon --watch-history 5
  local i
  for i in $(seq 1 10); do
    expect_code 201 POST /api/v1/namespaces/default/pods "$(pod_json p$i)"
  done
  expect_code 410 GET '/api/v1/pods?watch=1&resourceVersion=1'
  [ "$(jbody .reason)" = Expired ] || fail "reason $(jbody .reason)"
  [ "$(jbody .kind)" = Status ] || fail "not a Status"
  # the newest events are still there
  curl -sN --unix-socket "$T/api.sock" -m 30 "http://lab/api/v1/pods?watch=1&resourceVersion=10" > "$T/watch" &
  local wpid=$!
  wait_for 30 lines "$T/watch" 2
  kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
  [ "$(jq -r .object.metadata.name "$T/watch" | tr '\n' ' ')" = "p9 p10 " ] ||
    fail "recent events: $(jq -r .object.metadata.name "$T/watch" | tr '\n' ' ')"
}

# ---- tests: durability ----------------------------------------------------------------------

# 8 writers x 125 creates, each writer one curl process with keep-alive;
# SIGKILL mid-way; after a restart every create that got 201 is there,
# exactly once, and nothing else is.
t_sigkill_during_1000_concurrent_creates_loses_no_acknowledged_write() {
  start_daemon
  local w i writers=()
  for w in $(seq 1 8); do
    : > "$T/cfg$w"
    for i in $(seq 1 125); do
      [ "$i" -gt 1 ] && echo next >> "$T/cfg$w"   # --next resets every option
      cat >> "$T/cfg$w" <<EOF
unix-socket = "$T/api.sock"
url = "http://lab/api/v1/namespaces/default/pods"
request = "POST"
header = "Content-Type: application/json"
data-binary = "{\"metadata\":{\"name\":\"d$w-$i\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}"
output = "/dev/null"
write-out = "d$w-$i %{http_code}\n"
EOF
    done
    curl -s -K "$T/cfg$w" > "$T/acks$w" 2>/dev/null &
    writers+=($!)
  done
  # kill once a good share of the writes is acknowledged
  acks() { [ "$(cat "$T"/acks* | grep -c ' 201$')" -ge 300 ]; }
  wait_for 60 acks
  stop_daemon KILL
  wait "${writers[@]}"
  local acked
  acked=$(cat "$T"/acks* | grep -c ' 201$')
  [ "$acked" -ge 100 ] || fail "only $acked creates acknowledged before the kill"
  [ "$acked" -lt 1000 ] || fail "the kill came too late ($acked acknowledged)"
  start_daemon
  expect_code 200 GET /api/v1/namespaces/default/pods
  jq -r '.items[].metadata.name' "$T/body" | sort > "$T/stored"
  [ "$(sort -u "$T/stored" | wc -l)" = "$(wc -l < "$T/stored")" ] || fail "duplicate objects"
  cat "$T"/acks* | awk '$2 == 201 { print $1 }' | sort > "$T/acked"
  comm -23 "$T/acked" "$T/stored" > "$T/lost"
  [ ! -s "$T/lost" ] || fail "$(wc -l < "$T/lost") acknowledged creates lost, e.g. $(head -n 3 "$T/lost" | tr '\n' ' ')"
  # at most the writes in flight at the kill were stored without an answer
  [ "$(comm -13 "$T/acked" "$T/stored" | wc -l)" -le 8 ] || fail "unacknowledged objects stored"
  [ "$(jq -r '[.items[].metadata.uid] | unique | length' "$T/body")" = "$(wc -l < "$T/stored")" ] ||
    fail "duplicate uids"
  expect_code 201 POST /api/v1/namespaces/default/pods "$(pod_json after-restart)"
  echo "acknowledged $acked, stored $(wc -l < "$T/stored")"
}

# ---- tests: the real kubectl ------------------------------------------------------------------

t_kubectl_get_create_apply_label_expose_delete() {
  needs_kubectl
  start_daemon
  make_kubeconfig
  kok get ns
  grep -q '^kube-system *Active' "$T/k.out" || fail "get ns: $(cat "$T/k.out")"
  kok create namespace demo
  grep -q 'namespace/demo created' "$T/k.out" || fail "create namespace: $(cat "$T/k.out")"
  k create namespace demo && fail "second create namespace succeeded"
  grep -q 'Error from server (AlreadyExists)' "$T/k.out" || fail "AlreadyExists: $(cat "$T/k.out")"
  cat > "$T/app.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: nginx, image: nginx, ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: demo, labels: {role: client}}
spec:
  containers:
  - {name: c, image: busybox}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: demo}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
EOF
  kok create -f "$T/app.yaml"
  grep -q 'deployment.apps/web created' "$T/k.out" || fail "create -f: $(cat "$T/k.out")"
  kok get pods -n demo -o yaml
  grep -q 'name: client' "$T/k.out" || fail "get pods -o yaml: $(head -c 300 "$T/k.out")"
  kok get pods -n demo -l role=client
  grep -q '^client ' "$T/k.out" || fail "get -l: $(cat "$T/k.out")"
  kok get deploy,netpol -n demo
  grep -q 'deployment.apps/web' "$T/k.out" || fail "get deploy: $(cat "$T/k.out")"
  expect_code 201 POST /api/v1/namespaces/demo/endpoints '{"metadata":{"name":"web"},"subsets":[{"addresses":[{"ip":"10.0.0.1"}],"ports":[{"port":80}]}]}'
  expect_code 201 POST /api/v1/namespaces/demo/services '{"metadata":{"name":"db"},"spec":{"ports":[{"port":5432}]}}'
  kok get ns,pods,services,endpoints,deployments,networkpolicies -A -o yaml
  local kind
  for kind in Namespace Pod Service Endpoints Deployment NetworkPolicy; do
    grep -q "^  kind: $kind\$" "$T/k.out" || fail "get -A -o yaml lacks $kind"
  done
  kok get pods,deploy -A -l 'role in (client)' -o name
  [ "$(cat "$T/k.out")" = pod/client ] || fail "get -l: $(cat "$T/k.out")"
  sed -i 's/replicas: 2/replicas: 3/' "$T/app.yaml"
  kok apply -f "$T/app.yaml"
  grep -q 'deployment.apps/web configured' "$T/k.out" || fail "apply: $(cat "$T/k.out")"
  kok apply -f "$T/app.yaml"
  grep -q 'deployment.apps/web unchanged' "$T/k.out" || fail "apply again: $(cat "$T/k.out")"
  kok get deploy web -n demo -o jsonpath='{.spec.replicas}'
  [ "$(cat "$T/k.out")" = 3 ] || fail "replicas after apply: $(cat "$T/k.out")"
  kok label pod client -n demo tier=front
  grep -q 'pod/client labeled' "$T/k.out" || fail "label: $(cat "$T/k.out")"
  k label pod client -n demo tier=back && fail "label without --overwrite succeeded"
  kok label --overwrite pod client -n demo tier=back
  kok get pod client -n demo --show-labels
  grep -q 'tier=back' "$T/k.out" || fail "labels: $(cat "$T/k.out")"
  kok expose deployment web -n demo --port=80
  grep -q 'service/web exposed' "$T/k.out" || fail "expose: $(cat "$T/k.out")"
  kok get svc web -n demo -o jsonpath='{.spec.selector.app}'
  [ "$(cat "$T/k.out")" = web ] || fail "expose selector: $(cat "$T/k.out")"
  kok delete pod client -n demo
  grep -q 'pod "client" deleted' "$T/k.out" || fail "delete: $(cat "$T/k.out")"
  k get pod client -n demo && fail "pod still there"
  grep -q 'Error from server (NotFound)' "$T/k.out" || fail "NotFound: $(cat "$T/k.out")"
  kok delete -f "$T/app.yaml" --ignore-not-found
  # no controllers here: the namespace stays Terminating
  kok delete ns demo --wait=false
  grep -q 'namespace "demo" deleted' "$T/k.out" || fail "delete ns: $(cat "$T/k.out")"
  kok get ns demo
  grep -q '^demo *Terminating' "$T/k.out" || fail "get ns while terminating: $(cat "$T/k.out")"
  k run late -n demo --image=busybox && fail "create in a terminating namespace succeeded"
  grep -q 'Error from server (Forbidden): pods "late" is forbidden: unable to create new content in namespace demo because it is being terminated' "$T/k.out" ||
    fail "create in a terminating namespace: $(cat "$T/k.out")"
}

t_kubectl_sees_server_side_validation_errors() {
  needs_kubectl
  start_daemon
  make_kubeconfig
  cat > "$T/bad.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad, namespace: default}
spec:
  podSelector: {}
  ingress:
  - ports: [{port: 70000}]
EOF
  k create -f "$T/bad.yaml" && fail "invalid policy accepted"
  grep -q 'is invalid' "$T/k.out" || fail "message: $(cat "$T/k.out")"
}

t_kubectl_get_watch_streams_changes() {
  needs_kubectl
  start_daemon
  make_kubeconfig
  expect_code 201 POST /api/v1/namespaces/default/pods "$(pod_json listed)"
  HOME=$T KUBECONFIG=$T/kubeconfig timeout 60 "$KUBECTL" get pods -w > "$T/w.out" 2>&1 &
  local kpid=$!
  # the list first, then the watch from the list's version
  wait_for 60 grep -q '^listed ' "$T/w.out"
  expect_code 201 POST /api/v1/namespaces/default/pods "$(pod_json watched)"
  wait_for 30 grep -q '^watched ' "$T/w.out"; local rc=$?
  kill "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null
  [ $rc -eq 0 ] || fail "kubectl get -w did not show the pod: $(cat "$T/w.out")"
}

# Percent-escapes on the wire: libmicrohttpd's own decoder cut a path at
# an escaped NUL (DELETE .../withrv%00junk deleted withrv) and a name that
# is not UTF-8 left no Status to write (no answer at all).
t_bad_escapes_in_paths_get_a_status_answer() {
  start_daemon
  expect_code 201 POST /api/v1/namespaces '{"metadata":{"name":"withrv"}}'
  local p code
  for p in /api/v1/namespaces/%ff /api/v1/namespaces/withrv%00junk /api/v1/namespaces/%zz \
           /api/v1/namespaces/%c3%28; do
    for m in GET DELETE; do
      code=$(curl -s --path-as-is --unix-socket "$T/api.sock" -X $m -o "$T/body" \
             -w '%{http_code}' "http://lab$p")
      [ "$code" = 400 ] || fail "$m $p: got '$code', want 400: $(head -c 200 "$T/body")"
      [ "$(jbody .kind)/$(jbody .code)" = Status/400 ] || fail "$m $p: no Status: $(head -c 200 "$T/body")"
    done
  done
  expect_code 200 GET /api/v1/namespaces/withrv
  [ "$(jbody .metadata.deletionTimestamp)" = null ] || fail "withrv was deleted"
  # a valid escape still names the object
  expect_code 200 GET /api/v1/namespaces/with%72v
}

# A Namespace nested 2,046 levels was stored and then broke every LIST of
# namespaces (and with it the agent and kubectl get ns).
t_deep_namespace_is_refused_and_lists_keep_working() {
  start_daemon
  local deep
  deep=$(python3 -c 'print("{\"metadata\":{\"name\":\"poison\"},\"spec\":" + "{\"a\":" * 2046 + "{}" + "}" * 2047)')
  expect_code 400 POST /api/v1/namespaces "$deep"
  [ "$(jbody .reason)" = BadRequest ] || fail "reason $(jbody .reason)"
  expect_code 422 POST /api/v1/namespaces/default/endpoints \
    '{"metadata":{"name":"e"},"subsets":[{"addresses":[{"ip":"10.0.0.1","junk":{"a":{}}}]}]}'
  expect_code 200 GET /api/v1/namespaces
  [ "$(jbody '.items | length')" -ge 1 ] || fail "list: $(head -c 300 "$T/body")"
  NETPOL_SOCKET=$T/api.sock "$NETPOL" get ns > "$T/get.out" 2>&1 || fail "get ns: $(cat "$T/get.out")"
  grep -q '^default ' "$T/get.out" || fail "get ns: $(cat "$T/get.out")"
}

# resourceVersion and delete preconditions compared as the API server does.
t_concurrency_checks_hold_on_the_wire() {
  start_daemon
  expect_code 201 POST /api/v1/namespaces/default/pods "$(pod_json web)"
  local uid
  uid=$(jbody .metadata.uid)
  jq '.metadata.resourceVersion = 1 | .metadata.labels.x = "y"' "$T/body" > "$T/int.json"
  expect_code 400 PUT /api/v1/namespaces/default/pods/web "$(cat "$T/int.json")"
  expect_code 409 DELETE /api/v1/namespaces/default/pods/web '{"preconditions":{"uid":"nope"}}'
  jbody .message | grep "Precondition failed: UID in precondition: nope, UID in object meta: $uid" >/dev/null ||
    fail "message: $(jbody .message)"
  expect_code 200 GET /api/v1/namespaces/default/pods/web
  [ "$(jbody .metadata.labels.x)" = null ] || fail "the integer resourceVersion write landed"
  expect_code 200 DELETE /api/v1/namespaces/default/pods/web "{\"preconditions\":{\"uid\":\"$uid\"}}"
  expect_code 400 GET '/api/v1/pods?watch=1&resourceVersion=abc'
}

# ---- main ------------------------------------------------------------------------------------

run first_start_makes_namespaces_pki_and_a_private_socket t_first_start_makes_namespaces_pki_and_a_private_socket
run sigterm_exits_cleanly_and_a_restart_reuses_state t_sigterm_exits_cleanly_and_a_restart_reuses_state
run second_daemon_on_the_same_state_is_refused t_second_daemon_on_the_same_state_is_refused
run stale_socket_file_is_replaced t_stale_socket_file_is_replaced
run every_kind_round_trips_through_every_verb t_every_kind_round_trips_through_every_verb
run strategic_merge_patch_merges_lists_by_key t_strategic_merge_patch_merges_lists_by_key
run all_namespaces_lists_and_selectors t_all_namespaces_lists_and_selectors
run errors_are_kubernetes_statuses t_errors_are_kubernetes_statuses
run stale_update_is_409_conflict t_stale_update_is_409_conflict
run json_bodies_are_read_by_the_manifest_reader t_json_bodies_are_read_by_the_manifest_reader
run concurrent_writers_on_one_object_lose_no_update t_concurrent_writers_on_one_object_lose_no_update
run request_bodies_over_3_mib_are_413 t_request_bodies_over_3_mib_are_413
run tcp_api_needs_the_token_and_reveals_nothing_without_it t_tcp_api_needs_the_token_and_reveals_nothing_without_it
run watch_delivers_every_later_change_once_and_in_order t_watch_delivers_every_later_change_once_and_in_order
run watch_with_parallel_writers_sees_each_write_once t_watch_with_parallel_writers_sees_each_write_once
run watch_from_a_compacted_version_is_410_expired t_watch_from_a_compacted_version_is_410_expired
run sigkill_during_1000_concurrent_creates_loses_no_acknowledged_write t_sigkill_during_1000_concurrent_creates_loses_no_acknowledged_write
run kubectl_get_create_apply_label_expose_delete t_kubectl_get_create_apply_label_expose_delete
run kubectl_sees_server_side_validation_errors t_kubectl_sees_server_side_validation_errors
run kubectl_get_watch_streams_changes t_kubectl_get_watch_streams_changes
run bad_escapes_in_paths_get_a_status_answer t_bad_escapes_in_paths_get_a_status_answer
run deep_namespace_is_refused_and_lists_keep_working t_deep_namespace_is_refused_and_lists_keep_working
run concurrency_checks_hold_on_the_wire t_concurrency_checks_hold_on_the_wire
exit 0
