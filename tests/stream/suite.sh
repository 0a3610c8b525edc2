#!/usr/bin/env bash
# kubectl's streaming protocols against `netpol serve`, with the REAL
# kubectl (SKIP without it) and `netpol kubeconfig`: exec, exec -i, exit
# codes, run -ti through a pty, tty size, attach, cp, port-forward (both
# transports), malformed frames. One daemon with a node (--no-agent) in
# a throwaway lab (s<pid>x) and state dir, swept even on failure. Prints
# "PASS name" / "FAIL name: why" / "SKIP name: why". Needs root. KEEP_LOG=FILE
# keeps the daemon's log.
set -uo pipefail
. "$(dirname "$0")/../lib/sweep.sh"
cd "$(dirname "$0")/../.."

NETPOL=$(realpath "${NETPOL:-build/netpol}")
KUBECTL=${KUBECTL:-/usr/bin/kubectl}
LAB="s$$x"
T=$(mktemp -d /tmp/netpol-stream.XXXXXX)
SOCK=$T/api.sock
TESTS="exec_prints_and_exits_zero exec_passes_exit_code exec_stdin run_ti_shell cp_round_trip
  port_forward_websocket port_forward_spdy port_forward_refused_port malformed_frames_close_with_status
  exec_tty_gets_terminal_size attach_follows_output port_forward_megabytes_both_ways"

if [ ! -x "$KUBECTL" ]; then
  for t in $TESTS; do echo "SKIP $t: no $KUBECTL"; done; exit 0
fi
if [ "$(id -u)" -ne 0 ]; then echo "FAIL stream: needs root"; exit 1; fi

cleanup() {
  [ -f "$T/pid" ] && kill -TERM "$(cat "$T/pid")" 2>/dev/null
  local i
  for i in $(seq 1 50); do
    [ -f "$T/pid" ] && kill -0 "$(cat "$T/pid")" 2>/dev/null || break; sleep 0.1
  done
  [ -f "$T/pid" ] && kill -KILL "$(cat "$T/pid")" 2>/dev/null
  [ -f "$T/pf.pid" ] && kill -KILL "$(cat "$T/pf.pid")" 2>/dev/null
  [ -n "${KEEP_LOG:-}" ] && cp "$T/state/daemon.log" "$KEEP_LOG"
  sweep_lab "$LAB"
  rm -rf "$T"
}
trap cleanup EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
wait_for() { # SECONDS CMD...: polls CMD every 0.1 s
  local end=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done
}
api() { curl -s --unix-socket "$SOCK" "http://x$1"; }
k() { HOME=$T KUBECONFIG=$T/kubeconfig timeout 60 "$KUBECTL" "$@"; }
phase_is() { [ "$(api "/api/v1/namespaces/default/pods/$1" | jq -r .status.phase)" = "$2" ]; }
gone() { [ "$(api "/api/v1/namespaces/default/pods/$1" | jq -r .code)" = 404 ]; }

export NETPOL_SOCKET=$SOCK NETPOL_STATE_DIR=$T/state NETPOL_LAB=$LAB
mkdir -p "$T/state"
"$NETPOL" serve --state-dir "$T/state" --socket "$SOCK" --listen 127.0.0.1:0 --lab "$LAB" \
  --no-agent > "$T/state/daemon.log" 2>&1 &
echo $! > "$T/pid"
if ! wait_for 30 curl -sf --unix-socket "$SOCK" http://x/version -o /dev/null; then
  echo "FAIL stream: daemon did not answer: $(tail -n 3 "$T/state/daemon.log")"; exit 1
fi
"$NETPOL" kubeconfig > "$T/kubeconfig" || { echo "FAIL stream: netpol kubeconfig"; exit 1; }
k run bb --image=busybox -- sleep 3600 > /dev/null 2>&1
if ! wait_for 60 phase_is bb Running; then
  echo "FAIL stream: pod bb never ran: $(api /api/v1/namespaces/default/pods/bb | jq -c .status)"
  exit 1
fi

out=$(k exec bb -- echo hi 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$out" = hi ]; then pass exec_prints_and_exits_zero
else fail exec_prints_and_exits_zero "rc $rc: $out"; fi

out=$(k exec bb -- sh -c 'echo err >&2; exit 3' 2>&1); rc=$?
if [ $rc -eq 3 ] && [[ $out == *err* ]]; then pass exec_passes_exit_code
else fail exec_passes_exit_code "rc $rc: $out"; fi

out=$(echo abc | k exec -i bb -- cat 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$out" = abc ]; then pass exec_stdin
else fail exec_stdin "rc $rc: $out"; fi

# the typed command is `echo hel''lo`, so "hello" is the shell's output, not its echo
out=$(HOME=$T KUBECONFIG=$T/kubeconfig python3 tests/stream/pty_run.py \
  "$KUBECTL" run access --rm -ti --image busybox -- /bin/sh 2>&1); rc=$?
if [ $rc -eq 0 ] && [[ $out == *hello* ]] && [[ $out != *"falling back"* ]] &&
   wait_for 60 gone access; then pass run_ti_shell
else fail run_ti_shell "rc $rc: $(echo "$out" | tail -c 600)"; fi

# kubectl sends its terminal's size on the resize channel, after the
# process has started (as with a kubelet): the pod polls until it is there
out=$(HOME=$T KUBECONFIG=$T/kubeconfig python3 tests/stream/pty_size.py 33 101 \
  "$KUBECTL" exec -ti bb -- sh -c 'for i in $(seq 200); do stty size 2>/dev/null && exit; sleep 0.1; done' 2>&1)
if [[ $out == *"33 101"* ]]; then pass exec_tty_gets_terminal_size
else fail exec_tty_gets_terminal_size "$(echo "$out" | tr -d "\r" | tail -c 600)"; fi

# kubectl attach (no stdin) follows what the container prints
k run ticker --image=busybox -- sh -c 'while true; do echo tick; sleep 0.2; done' > /dev/null 2>&1
if wait_for 60 phase_is ticker Running; then
  HOME=$T KUBECONFIG=$T/kubeconfig "$KUBECTL" attach ticker > "$T/attach.out" 2>&1 &
  echo $! > "$T/pf.pid"
  ticks() { [ "$(grep -c tick "$T/attach.out")" -ge 3 ]; }
  if wait_for 60 ticks; then pass attach_follows_output
  else fail attach_follows_output "$(tail -c 300 "$T/attach.out")"; fi
  kill "$(cat "$T/pf.pid")" 2>/dev/null; rm -f "$T/pf.pid"
else fail attach_follows_output "pod ticker never ran"; fi

head -c 200000 /dev/urandom > "$T/payload"
if ! out=$(cd "$T" && k cp payload "bb:$T/in-pod" 2>&1); then
  fail cp_round_trip "cp in: $out"
elif ! out=$(cd "$T" && k cp "bb:$T/in-pod" back 2>&1); then
  fail cp_round_trip "cp out: $out"
elif ! cmp -s "$T/payload" "$T/back"; then
  fail cp_round_trip "the copy differs: $(ls -l "$T/payload" "$T/back" 2>&1)"
else pass cp_round_trip; fi

# ---- port-forward: kubectl 1.32 tunnels SPDY/3.1 in WebSocket; with
# KUBECTL_PORT_FORWARD_WEBSOCKETS=false it upgrades to SPDY/3.1 directly
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nginx_page() { curl -s -m 5 "127.0.0.1:$1" 2>/dev/null | grep "Welcome to nginx" >/dev/null; }
stop_pf() { [ -f "$T/pf.pid" ] && kill "$(cat "$T/pf.pid")" 2>/dev/null; rm -f "$T/pf.pid"; }

k run web --image=nginx > /dev/null 2>&1
wait_for 60 phase_is web Running || echo "FAIL stream: pod web never ran"

# pf_test NAME ENV...: kubectl port-forward to nginx's 80, then curl
pf_test() {
  local name=$1 port; shift
  port=$(free_port)
  env "$@" HOME=$T KUBECONFIG=$T/kubeconfig "$KUBECTL" port-forward pod/web "$port:80" \
    > "$T/pf.out" 2>&1 &
  echo $! > "$T/pf.pid"
  if wait_for 60 nginx_page "$port" && nginx_page "$port"; then pass "$name"
  else fail "$name" "no nginx page on $port: $(tail -c 400 "$T/pf.out")"; fi
  stop_pf
}
pf_test port_forward_websocket KUBECTL_PORT_FORWARD_WEBSOCKETS=true
pf_test port_forward_spdy KUBECTL_PORT_FORWARD_WEBSOCKETS=false

# nothing listens on 81: kubectl is told why (and gives up, as with a kubelet)
port=$(free_port)
HOME=$T KUBECONFIG=$T/kubeconfig "$KUBECTL" port-forward pod/web "$port:81" > "$T/pf.out" 2>&1 &
echo $! > "$T/pf.pid"
refused() { curl -s -m 5 "127.0.0.1:$port" > /dev/null 2>&1; grep -q "error forwarding port 81" "$T/pf.out"; }
if wait_for 60 refused; then pass port_forward_refused_port
else fail port_forward_refused_port "$(tail -c 400 "$T/pf.out")"; fi
stop_pf

# frames a client may not send end the stream with a close status, and the
# daemon goes on serving
out=$(python3 tests/stream/ws_bad_frame.py "$SOCK" default bb 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$(k exec bb -- echo still 2>&1)" = still ]; then
  pass malformed_frames_close_with_status
else fail malformed_frames_close_with_status "rc $rc: $out"; fi

# two ports at once, megabytes each way: busybox httpd serves a file, nc
# stores what it is sent
# (a lab pod sees the host's files: paths under $T, so that two runs of
# this suite on one machine never share a file)
k run pfbig --image=busybox -- sh -c "mkdir -p $T/www && head -c 3000000 /dev/urandom > $T/www/big &&
  httpd -p 8080 -h $T/www; sleep 3600 | nc -l -p 9000 > $T/got; sleep 3600" > /dev/null 2>&1
p1=$(free_port); p2=$(free_port)
while [ "$p2" = "$p1" ]; do p2=$(free_port); done
head -c 3000000 /dev/urandom > "$T/up"
want_up=$(md5sum < "$T/up" | cut -d' ' -f1)
got_up() { [ "$(k exec pfbig -- md5sum "$T/got" 2>/dev/null | cut -d' ' -f1)" = "$want_up" ]; }
served() { curl -sf -m 10 "127.0.0.1:$p1/big" -o "$T/down"; }
# nc starts after httpd has forked: upload only once it listens (a
# connection before that is refused in the pod and the upload is lost)
nc_listens() { k exec pfbig -- netstat -ltn 2>/dev/null | grep ':9000 ' >/dev/null; }
if wait_for 60 phase_is pfbig Running; then
  HOME=$T KUBECONFIG=$T/kubeconfig "$KUBECTL" port-forward pod/pfbig "$p1:8080" "$p2:9000" \
    > "$T/pf.out" 2>&1 &
  echo $! > "$T/pf.pid"
  wait_for 60 served
  want_down=$(k exec pfbig -- md5sum "$T/www/big" | cut -d' ' -f1)
  wait_for 60 nc_listens
  timeout 60 python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(open(sys.argv[2], "rb").read()); s.shutdown(socket.SHUT_WR); s.recv(1)' "$p2" "$T/up"
  if [ "$(md5sum < "$T/down" | cut -d' ' -f1)" != "$want_down" ]; then
    fail port_forward_megabytes_both_ways "download differs: $(tail -c 300 "$T/pf.out")"
  elif ! wait_for 60 got_up; then
    fail port_forward_megabytes_both_ways "upload differs: $(tail -c 300 "$T/pf.out")"
  else pass port_forward_megabytes_both_ways; fi
  stop_pf
else fail port_forward_megabytes_both_ways "pod pfbig never ran"; fi
