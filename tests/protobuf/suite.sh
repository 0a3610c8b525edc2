#!/usr/bin/env bash
# Protobuf request bodies on the wire: the REAL kubectl's typed clients
# (create namespace/deployment/service) send
# application/vnd.kubernetes.protobuf and never fall back to JSON; the
# daemon must store what a JSON client would have stored (expose, which
# sends JSON, checks the two agree on a named targetPort). Also raw bodies
# with curl: unknown fields (400), kinds we do not read (415), protobuf
# DeleteOptions. A daemon per test (`netpol serve --no-node`, throwaway
# state directory). Prints "PASS name" / "FAIL name: why" / "SKIP name: why".
# Needs NETPOL=/path/to/netpol.
set -uo pipefail
. "$(dirname "$0")/../lib/daemon.sh"
suite_init protobuf "$@"

# start_daemon: a daemon with controllers (as kubectl users have it) and
# the kubeconfig `netpol kubeconfig` writes for it.
start_daemon() {
  export NETPOL_SOCKET=$T/api.sock NETPOL_STATE_DIR=$T/state NETPOL_LAB=$LAB_PREFIX$COUNT
  daemon_start
  "$NETPOL" kubeconfig --server "https://127.0.0.1:$PORT" > "$T/kubeconfig" 2> "$T/kubeconfig.err" ||
    fail "netpol kubeconfig: $(cat "$T/kubeconfig.err")"
}

# rk ARGS...: the real kubectl against this test's daemon; it must succeed.
rk() { kok "$@"; }
# get PATH: the body of a GET over the unix socket.
get() { curl -s --unix-socket "$T/api.sock" "http://lab$1"; }

# send_pb METHOD PATH: sends $T/body as protobuf; the answer in $T/answer,
# prints the HTTP code.
send_pb() {
  curl -s -o "$T/answer" -w '%{http_code}' --unix-socket "$T/api.sock" -X "$1" \
    -H 'Content-Type: application/vnd.kubernetes.protobuf' --data-binary @"$T/body" "http://lab$2"
}

t_real_kubectl_create_namespace_and_deployment_store_replicas_and_labels() {
  needs_kubectl
  start_daemon
  rk create namespace web
  rk get ns web -o jsonpath='{.status.phase}'
  [ "$(cat "$T/k.out")" = Active ] || fail "namespace phase: $(cat "$T/k.out")"
  rk create deployment nginx --image=nginx --replicas=2 -n web
  grep -q 'deployment.apps/nginx created' "$T/k.out" || fail "create said: $(cat "$T/k.out")"
  rk get deploy nginx -n web -o json
  [ "$(jq -r .spec.replicas "$T/k.out")" = 2 ] || fail "replicas: $(jq -c .spec "$T/k.out")"
  [ "$(jq -r .metadata.labels.app "$T/k.out")" = nginx ] || fail "labels: $(jq -c .metadata "$T/k.out")"
  [ "$(jq -r '.spec.template.spec.containers[0].image' "$T/k.out")" = nginx ] ||
    fail "template: $(jq -c .spec.template "$T/k.out")"
  [ "$(jq -r .spec.selector.matchLabels.app "$T/k.out")" = nginx ] || fail "selector"
}

t_real_kubectl_create_service_clusterip_and_expose() {
  needs_kubectl
  start_daemon
  rk create service clusterip web --tcp=80:8080
  grep -q 'service/web created' "$T/k.out" || fail "create service said: $(cat "$T/k.out")"
  rk get svc web -o json
  [ "$(jq -c '.spec.ports[0] | [.port, .targetPort, .protocol]' "$T/k.out")" = '[80,8080,"TCP"]' ] ||
    fail "ports: $(jq -c .spec.ports "$T/k.out")"
  [ "$(jq -r .spec.selector.app "$T/k.out")" = web ] || fail "selector: $(jq -c .spec "$T/k.out")"
  rk create deployment api --image=nginx
  rk expose deployment api --port=80 --target-port=http --name=api
  rk get svc api -o json
  [ "$(jq -c '.spec.ports[0] | [.port, .targetPort]' "$T/k.out")" = '[80,"http"]' ] ||
    fail "expose ports: $(jq -c .spec.ports "$T/k.out")"
}

t_unknown_fields_and_kinds_are_refused_with_a_status() {
  start_daemon
  # Namespace {metadata {name "x", field 99 = 1}}
  printf 'k8s\000\012\017\012\002v1\022\011Namespace\022\010\012\006\012\001x\230\006\001' > "$T/body"
  [ "$(send_pb POST /api/v1/namespaces)" = 400 ] || fail "unknown field: $(cat "$T/answer")"
  jq -r .message "$T/answer" | grep 'unknown field number 99 in message ObjectMeta' >/dev/null ||
    fail "unknown field message: $(cat "$T/answer")"
  [ "$(get /api/v1/namespaces/x | jq -r .code)" = 404 ] || fail "namespace x was created"
  printf 'k8s\000\012\017\012\002v1\022\011ConfigMap\022\000' > "$T/body"
  [ "$(send_pb POST /api/v1/namespaces)" = 415 ] || fail "ConfigMap: $(cat "$T/answer")"
  jq -r .message "$T/answer" | grep 'not ConfigMap (v1); send application/json' >/dev/null ||
    fail "ConfigMap message: $(cat "$T/answer")"
  # a Pod {metadata {name "p"}, spec {containers [{name "c", image "busybox"}]}}
  printf 'k8s\000\012\011\012\002v1\022\003Pod\022\025\012\003\012\001p\022\016\022\014\012\001c\022\007busybox' > "$T/body"
  [ "$(send_pb POST /api/v1/namespaces/default/pods)" = 201 ] || fail "pod: $(cat "$T/answer")"
  [ "$(get /api/v1/namespaces/default/pods/p | jq -r '.spec.containers[0].image')" = busybox ] ||
    fail "stored pod: $(get /api/v1/namespaces/default/pods/p)"
}

t_protobuf_delete_options_are_honoured() {
  start_daemon
  curl -sf --unix-socket "$T/api.sock" -X POST -H 'Content-Type: application/json' \
    -d '{"metadata":{"name":"keep"}}' http://lab/api/v1/namespaces > /dev/null || fail "create ns"
  # DeleteOptions {dryRun: ["All"]}
  printf 'k8s\000\012\023\012\002v1\022\015DeleteOptions\022\005\052\003All' > "$T/body"
  [ "$(send_pb DELETE /api/v1/namespaces/keep)" = 200 ] || fail "delete: $(cat "$T/answer")"
  [ "$(get /api/v1/namespaces/keep | jq -r .status.phase)" = Active ] ||
    fail "a dry-run delete changed it: $(get /api/v1/namespaces/keep | jq -c .status)"
}

run real_kubectl_create_namespace_and_deployment_store_replicas_and_labels t_real_kubectl_create_namespace_and_deployment_store_replicas_and_labels
run real_kubectl_create_service_clusterip_and_expose t_real_kubectl_create_service_clusterip_and_expose
run unknown_fields_and_kinds_are_refused_with_a_status t_unknown_fields_and_kinds_are_refused_with_a_status
run protobuf_delete_options_are_honoured t_protobuf_delete_options_are_honoured
exit 0
