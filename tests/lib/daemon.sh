# Sourced by the suites that start a daemon of their own per test (api,
# store, protobuf, hostile): the runner, the daemon's start and stop, and
# curl and kubectl against it. A test is a function run in a subshell with
# $T its directory; it calls fail/skip, and the runner prints
# "PASS name" / "FAIL name: why" / "SKIP name: why".
#
#   suite_init NAME "$@"    once, at the top (the first argument runs one test)
#   run NAME FUNCTION       each test
#
# Every daemon is killed at the end, even when a test fails; KEEP=1 keeps
# the tests' directories (logs, state) and says where.
. "$(dirname "${BASH_SOURCE[0]}")/wait.sh"

# suite_init NAME [ONLY]
suite_init() {
  NETPOL=${NETPOL:?set NETPOL to the netpol binary}
  KUBECTL=${KUBECTL:-$(command -v kubectl || true)}
  ROOT=$(mktemp -d "/tmp/netpol-$1-suite.XXXXXX")
  chmod 755 "$ROOT"   # a test may run a client as an unprivileged user
  ONLY=${2:-}
  COUNT=0
  # a lab name per daemon ([a-z0-9], no hyphen): serve records its lab in
  # /run/netpol, and no test may take the default lab's record
  LAB_PREFIX=s$$x
  trap suite_cleanup EXIT
}

suite_cleanup() {
  local p
  for p in "$ROOT"/*/pid "$ROOT"/*/cpid; do
    [ -f "$p" ] && kill -KILL "$(cat "$p")" 2>/dev/null
  done
  rm -f /run/netpol/"$LAB_PREFIX"*.daemon
  if [ -n "${KEEP:-}" ]; then echo "kept $ROOT"; else rm -rf "$ROOT"; fi
}

fail() { echo "$*" > "$T/why"; exit 1; }
skip() { echo "$*" > "$T/skip"; exit 0; }

# needs TOOL...: skips the test when a tool is missing.
needs() {
  local tool
  for tool in "$@"; do
    command -v "$tool" > /dev/null 2>&1 || skip "$tool is not installed"
  done
}
needs_kubectl() { [ -n "$KUBECTL" ] || skip "kubectl is not installed"; }

# daemon_start [SERVE-ARGS...]: `netpol serve` with no node in $T (socket
# $T/api.sock, TLS on a port it picks), output in $T/serve.out and
# $T/serve.err; returns when it answers, with $PORT and $TOKEN set.
daemon_start() {
  "$NETPOL" serve --state-dir "$T/state" --socket "$T/api.sock" --no-node \
    --lab "$LAB_PREFIX$COUNT" --listen 127.0.0.1:0 "$@" > "$T/serve.out" 2>> "$T/serve.err" &
  echo $! > "$T/pid"
  daemon_wait
}

# daemon_wait: until the daemon whose pid is in $T/pid answers.
daemon_wait() {
  wait_for 60 daemon_up || fail "daemon did not answer within 60s: $(tail -n 3 "$T/serve.err")"
  TOKEN=$(cat "$T/state/token" 2>/dev/null)
}
daemon_up() {
  # the port line is printed once every listener is up
  PORT=$(sed -n 's#.*https://127.0.0.1:\([0-9]*\).*#\1#p' "$T/serve.out" | tail -n 1)
  [ -n "$PORT" ] && curl -sf --unix-socket "$T/api.sock" http://lab/version > /dev/null 2>&1 && return 0
  kill -0 "$(cat "$T/pid")" 2>/dev/null || fail "daemon exited: $(tail -n 3 "$T/serve.err")"
  return 1
}

# daemon_stop [SIGNAL]: stops it and waits; returns its exit status.
daemon_stop() {
  local pid rc
  pid=$(cat "$T/pid")
  kill -"${1:-TERM}" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  rm -f "$T/pid"
  return $rc
}

# api METHOD PATH [BODY [CONTENT-TYPE]]: body to $T/body, prints the HTTP code.
api() {
  local args=(-s --unix-socket "$T/api.sock" -X "$1" -o "$T/body" -w '%{http_code}')
  [ $# -ge 3 ] && args+=(-H "Content-Type: ${4:-application/json}" --data-binary "$3")
  curl "${args[@]}" "http://lab$2"
}

# expect_code WANT METHOD PATH [BODY [CT]]: fails the test on another code.
expect_code() {
  local want=$1 got
  shift
  got=$(api "$@")
  [ "$got" = "$want" ] || fail "$1 $2: got $got, want $want: $(head -c 300 "$T/body")"
}

jbody() { jq -r "$1" "$T/body"; }

# make_kubeconfig [CA-FILE TOKEN-FILE]: $T/kubeconfig for the real kubectl
# over TLS (default: the daemon's own CA and token).
make_kubeconfig() {
  cat > "$T/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: https://127.0.0.1:$PORT
    certificate-authority-data: $(base64 -w0 < "${1:-$T/state/pki/ca.crt}")
users:
- name: lab-admin
  user:
    token: $(cat "${2:-$T/state/token}")
contexts:
- name: lab
  context: {cluster: lab, user: lab-admin}
current-context: lab
EOF
}

# k ARGS...: the real kubectl against this test's daemon; output in $T/k.out.
k() {
  HOME=$T KUBECONFIG=$T/kubeconfig timeout 30 "$KUBECTL" "$@" > "$T/k.out" 2>&1
}
# kok ARGS...: kubectl must succeed.
kok() { k "$@" || fail "kubectl $*: $(head -c 400 "$T/k.out")"; }

# run NAME FUNCTION: runs one test (all of them, or the one named by ONLY).
run() {
  local name=$1 fn=$2
  [ -n "$ONLY" ] && [ "$ONLY" != "$name" ] && return
  COUNT=$((COUNT + 1))
  local dir="$ROOT/$COUNT"   # short: unix socket paths are limited to 107 bytes
  mkdir -p "$dir"
  chmod 777 "$dir"
  ( T=$dir; PORT=; TOKEN=; set +e; "$fn" ) > "$dir/log" 2>&1
  local rc=$?
  [ -f "$dir/figures" ] && cat "$dir/figures"
  [ -f "$dir/cpid" ] && kill -KILL "$(cat "$dir/cpid")" 2>/dev/null
  if [ -f "$dir/pid" ]; then
    # TERM first, so that the daemon removes what it recorded
    local pid
    pid=$(cat "$dir/pid")
    kill -TERM "$pid" 2>/dev/null
    wait_exit 10 "$pid" || kill -KILL "$pid" 2>/dev/null
    rm -f "$dir/pid"
  fi
  # a sanitizer build of the daemon reports here
  if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$dir/serve.err" 2>/dev/null; then
    rc=1
    echo "the daemon's sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$dir/serve.err")" > "$dir/why"
  fi
  if [ -f "$dir/skip" ]; then
    echo "SKIP $name: $(cat "$dir/skip")"
  elif [ $rc -eq 0 ]; then
    echo "PASS $name"
  else
    echo "FAIL $name: $(cat "$dir/why" 2>/dev/null || echo "exited $rc: $(tail -n 3 "$dir/log" | tr '\n' ' ')")"
  fi
}
