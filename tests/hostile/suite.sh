#!/usr/bin/env bash
# The API server under hostile and heavy clients: `netpol serve --no-node`
# in a throwaway state directory per test, its TLS port on 127.0.0.1 only.
# Prints "PASS name" / "FAIL name: why" (and "SKIP name: why" when a tool is
# missing), and the figures measured (daemon RSS from /proc/PID/status).
# Needs NETPOL=/path/to/netpol; run one test with its name as argument.
#
# Every client stops by itself (its own time bound) and every daemon is
# killed at the end, even when a test fails.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/daemon.sh"
suite_init hostile "$@"
# the system's python: an unprivileged user cannot reach root's own
PY=/usr/bin/python3
CLIENTS=$HERE/clients.py

start_daemon() { daemon_start --no-controllers "$@"; }

# mb KB: kB as MB with one decimal.
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }

# kb FIELD: VmRSS or VmHWM of the daemon, in kB.
kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$(cat "$T/pid")/status"; }

# min_rss SECONDS: the daemon's smallest VmRSS over SECONDS of sampling,
# once the memory a burst freed has been given back (within a second).
min_rss() {
  local m v i
  m=$(kb VmRSS)
  for i in $(seq 1 $(($1 * 10))); do
    v=$(kb VmRSS)
    [ "$v" -lt "$m" ] && m=$v
    sleep 0.1
  done
  echo "$m"
}

# tls METHOD PATH [BODY]: an authenticated request over TLS; prints the code.
tls() {
  local args=(-s -m 5 --cacert "$T/state/pki/ca.crt" -H "Authorization: Bearer $TOKEN"
              -X "$1" -o "$T/body" -w '%{http_code}')
  [ $# -ge 3 ] && args+=(-H "Content-Type: ${4:-application/json}" --data-binary "$3")
  curl "${args[@]}" "https://127.0.0.1:$PORT$2"
}

# unix METHOD PATH [BODY [CT]]: the same over the unix socket.
unix() {
  local args=(-s -m 30 --unix-socket "$T/api.sock" -X "$1" -o "$T/body" -w '%{http_code}')
  [ $# -ge 3 ] && args+=(-H "Content-Type: ${4:-application/json}" --data-binary "$3")
  curl "${args[@]}" "http://lab$2"
}

t_idle_connections_of_an_unprivileged_user_do_not_starve_root() {
  needs setpriv openssl
  [ -x "$PY" ] || { echo "$PY is missing" > "$T/skip"; exit 0; }
  start_daemon
  setpriv --reuid=nobody --regid=nogroup --clear-groups "$PY" "$CLIENTS" hold "$PORT" 1200 20 \
    > "$T/hold.out" 2>&1 &
  echo $! > "$T/cpid"
  # until the holder has had its go at all 1,000
  sleep_until_threads() { [ "$(awk '$1 == "Threads:" { print $2 }' "/proc/$(cat "$T/pid")/status")" -ge 40 ]; }
  wait_for 30 sleep_until_threads || fail "timed out after 30s waiting for sleep_until_threads"
  local i code bad=0 slow=0 t0 t1 n=40
  for i in $(seq 1 $n); do
    t0=$(date +%s%N)
    code=$(tls GET /api/v1/namespaces)
    t1=$(date +%s%N)
    [ "$code" = 200 ] || bad=$((bad + 1))
    [ $(((t1 - t0) / 1000000)) -le 2000 ] || slow=$((slow + 1))
    sleep 0.2
  done
  local threads
  threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$(cat "$T/pid")/status")
  wait "$(cat "$T/cpid")"
  rm -f "$T/cpid"
  echo "  hostile: 1200 idle connections of nobody: daemon threads $threads," \
    "holder: $(cat "$T/hold.out"); $n authenticated requests: $bad failed, $slow over 2 s" > "$T/figures"
  [ $bad -eq 0 ] || fail "$bad of $n authenticated requests failed"
  [ $slow -eq 0 ] || fail "$slow of $n authenticated requests took over 2 s"
  [ "$threads" -le $((64 + 16)) ] || fail "daemon has $threads threads: nobody got more than its share"
  grep -q '^held' "$T/hold.out" || fail "holder: $(head -c 300 "$T/hold.out")"
}

# TLS 1.0 and 1.1 are refused, 1.2 and 1.3 work.
t_tls_before_1_2_is_refused() {
  needs openssl
  start_daemon
  local v
  for v in tls1 tls1_1; do
    if echo | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -"$v" -cipher 'DEFAULT:@SECLEVEL=0' \
        > "$T/s_client.out" 2>&1; then
      fail "-$v negotiated: $(grep -m1 -E 'Protocol|Cipher' "$T/s_client.out")"
    fi
  done
  for v in tls1_2 tls1_3; do
    echo | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -"$v" > "$T/s_client.out" 2>&1 ||
      fail "-$v refused: $(tail -n 2 "$T/s_client.out")"
  done
}

# 2,000 refused connections and failed handshakes leave a bounded log.
t_refused_connections_do_not_log_a_line_each() {
  [ -x "$PY" ] || { echo "$PY is missing" > "$T/skip"; exit 0; }
  start_daemon
  local before after
  before=$(wc -l < "$T/serve.err")
  # connections beyond the share, and handshakes that go wrong, as fast as they come
  setpriv --reuid=nobody --regid=nogroup --clear-groups "$PY" - "$PORT" > "$T/flood.out" 2>&1 <<'PYEOF'
import socket, sys, time
port = int(sys.argv[1])
n = 0
end = time.monotonic() + 20
held = []
while n < 2000 and time.monotonic() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"\x16\x03\x01\x00\x05garbage")   # a broken ClientHello
        held.append(s)
        if len(held) > 100:
            held.pop(0).close()
        n += 1
    except OSError:
        n += 1
print(n)
PYEOF
  tls GET /version > /dev/null
  after=$(wc -l < "$T/serve.err")
  echo "  hostile: 2000 refused or broken connections: $((after - before)) log lines" > "$T/figures"
  [ $((after - before)) -le 60 ] || fail "$((after - before)) log lines for 2000 bad connections"
}

# Four watches that read nothing while a 250 KB object is patched 400 times
# (100 MB of events): the daemon's memory stays bounded, because the watches
# share one copy of each event and are ended once they fall 32 MB behind;
# when they read again, each stream ends with an ERROR event, 410 Expired.
t_slow_watchers_are_ended_and_memory_stays_bounded() {
  [ -x "$PY" ] || { echo "$PY is missing" > "$T/skip"; exit 0; }
  start_daemon
  local big i code base peak after
  big=$(head -c 187500 /dev/urandom | base64 -w0)
  printf '{"metadata":{"name":"big","annotations":{"blob":"%s"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}' \
    "$big" > "$T/big.json"
  code=$(unix POST /api/v1/namespaces/default/pods "@$T/big.json")
  [ "$code" = 201 ] || fail "create: $code $(head -c 200 "$T/body")"
  base=$(kb VmRSS)
  "$PY" "$CLIENTS" slowwatch "$PORT" "$TOKEN" 4 "$T/ready" "$T/resume" > "$T/watch.out" 2>&1 &
  echo $! > "$T/cpid"
  wait_for 60 test -f "$T/ready" || fail "timed out after 60s waiting for the watchers to be ready"
  for i in $(seq 1 400); do
    code=$(unix PATCH /api/v1/namespaces/default/pods/big "{\"metadata\":{\"annotations\":{\"n\":\"$i\"}}}" \
      application/merge-patch+json)
    [ "$code" = 200 ] || fail "patch $i: $code $(head -c 200 "$T/body")"
  done
  peak=$(kb VmHWM)
  echo "  hostile: 4 slow watchers x 400 patches of 250 KB: RSS base $(mb "$base")," \
    "peak $(mb "$peak")" > "$T/figures"
  [ $((peak - base)) -le $((100 * 1024)) ] || fail "RSS grew by $(((peak - base) / 1024)) MB (bound 100 MB)"
  touch "$T/resume"
  wait "$(cat "$T/cpid")"
  rm -f "$T/cpid"
  after=$(kb VmRSS)
  echo "  hostile: 4 slow watchers x 400 patches of 250 KB: RSS base $(mb "$base"),"  \
    "peak $(mb "$peak"), after $(mb "$after"); watches: $(sort "$T/watch.out" | uniq -c | tr -s ' \n' ' ')" \
    > "$T/figures"
  [ "$(grep -c '^410$' "$T/watch.out")" = 4 ] || fail "watches ended: $(tr '\n' ' ' < "$T/watch.out")"
}

# 200 clients create, get and delete pods for 60 s over TLS while 50 watches
# follow: every request succeeds, and afterwards the daemon's memory comes
# back to within 20 % of where it started.
t_200_clients_for_60s_then_memory_returns() {
  [ -x "$PY" ] || { echo "$PY is missing" > "$T/skip"; exit 0; }
  start_daemon
  local base peak after i seconds=${LOAD_SECONDS:-60}
  # a few requests first: TLS and SQLite set up what every later one uses
  "$PY" "$CLIENTS" load "$PORT" "$TOKEN" 4 1 2 > "$T/warm.out" 2>&1
  base=$(min_rss 2)
  "$PY" "$CLIENTS" load "$PORT" "$TOKEN" 200 50 "$seconds" > "$T/load.out" 2>&1
  peak=$(kb VmHWM)
  back() { after=$(kb VmRSS); [ "$after" -le $((base * 12 / 10)) ]; }
  for i in $(seq 1 300); do back && break; sleep 0.1; done
  echo "  hostile: 200 clients + 50 watches x ${seconds}s: $(cat "$T/load.out");" \
    "RSS base $(mb "$base"), peak $(mb "$peak"), after $(mb "$after")" > "$T/figures"
  grep -q 'failed 0$' "$T/load.out" || fail "load: $(cat "$T/load.out")"
  back || fail "RSS after $(mb "$after"), more than 20 % over $(mb "$base")"
}

run idle_connections_of_an_unprivileged_user_do_not_starve_root t_idle_connections_of_an_unprivileged_user_do_not_starve_root
run tls_before_1_2_is_refused t_tls_before_1_2_is_refused
run refused_connections_do_not_log_a_line_each t_refused_connections_do_not_log_a_line_each
run slow_watchers_are_ended_and_memory_stays_bounded t_slow_watchers_are_ended_and_memory_stays_bounded
run 200_clients_for_60s_then_memory_returns t_200_clients_for_60s_then_memory_returns
