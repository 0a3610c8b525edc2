#!/usr/bin/env bash
# The store's file on disk, end to end through `netpol serve`: a corrupt,
# missing or empty store.db is refused with a message that names it; a
# full disk (a small tmpfs in a private mount namespace) refuses creates
# with a disk-full Status while deletes still work; the event history and
# the file stay bounded. Prints "PASS name" / "FAIL name: why" (and "SKIP
# name: why"). Needs NETPOL=/path/to/netpol; the full-disk test needs root.
set -uo pipefail
. "$(dirname "$0")/../lib/daemon.sh"
suite_init store "$@"

start_daemon() { daemon_start --no-controllers "$@"; }
stop_daemon() { daemon_stop TERM; }

# start_daemon_on_tmpfs SIZE: the state directory is a tmpfs of SIZE that
# only the daemon's private mount namespace sees; it goes when the daemon does.
start_daemon_on_tmpfs() {
  mkdir -p "$T/state"
  unshare -m --propagation private sh -c 'mount -t tmpfs -o "size=$1" tmpfs "$2" && shift 2 && exec "$@"' \
    sh "$1" "$T/state" "$NETPOL" serve --state-dir "$T/state" --socket "$T/api.sock" --no-node \
    --no-controllers --lab "$LAB_PREFIX$COUNT" --listen 127.0.0.1:0 > "$T/serve.out" 2>> "$T/serve.err" &
  echo $! > "$T/pid"
  daemon_wait
}

# in_daemon_ns CMD...: runs CMD where the daemon's tmpfs is mounted.
in_daemon_ns() { nsenter -t "$(cat "$T/pid")" -m "$@"; }

# refused_start WHAT...: serve must exit non-zero; its stderr goes to $T/refused.
refused_start() {
  timeout 60 "$NETPOL" serve --state-dir "$T/state" --socket "$T/api.sock" --no-node \
    --no-controllers > /dev/null 2> "$T/refused" && fail "serve started on $*"
  [ $? -ne 124 ] || fail "serve did not exit on $*"
  [ ! -S "$T/api.sock" ] || fail "serve listened on $*"
}

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

# big_pod NAME BYTES CHAR: a pod with an annotation of BYTES times CHAR.
big_pod() {
  printf '{"metadata":{"name":"%s","annotations":{"big":"%s"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}' \
    "$1" "$(head -c "$2" /dev/zero | tr '\0' "$3")"
}

# spoil_objects_page: garbage over a leaf page of the objects table (its
# root: a few namespaces fit in one page). With the daemon running, the
# WAL is checkpointed first so the page is read from the file, and a write
# from this other connection afterwards makes the daemon drop its cache.
spoil_objects_page() {
  python3 - "$T/state/store.db" <<'EOF' || fail "could not corrupt the store"
import sqlite3, sys
path = sys.argv[1]
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
page = db.execute("SELECT rootpage FROM sqlite_master WHERE name='objects'").fetchone()[0]
size = db.execute("PRAGMA page_size").fetchone()[0]
with open(path, "r+b") as f:
    f.seek((page - 1) * size)
    f.write(bytes((i * 37 + 11) % 256 for i in range(size)))
db.execute("PRAGMA user_version=1")
db.close()
EOF
}

# ---- tests: what serve opens -------------------------------------------------------

t_a_fresh_state_dir_starts_empty_and_is_marked() {
  start_daemon
  expect_code 200 GET /api/v1/namespaces
  [ "$(jbody '[.items[].metadata.name] | join(",")')" = "default,kube-system" ] ||
    fail "namespaces: $(jbody '[.items[].metadata.name]')"
  [ -f "$T/state/store.db.created" ] || fail "no store.db.created after the first start"
  stop_daemon || fail "exit status $? after SIGTERM"
  start_daemon
  expect_code 200 GET /api/v1/namespaces/default
}

t_a_corrupt_store_is_refused_naming_the_file_and_the_way_out() {
  start_daemon
  expect_code 201 POST /api/v1/namespaces '{"metadata":{"name":"kept"}}'
  stop_daemon || fail "exit status $? after SIGTERM"
  spoil_objects_page
  refused_start "a corrupt store"
  grep -qF "netpol serve: $T/state/store.db is corrupt (quick_check: " "$T/refused" ||
    fail "message: $(cat "$T/refused")"
  grep -qF "restore it from a backup, or move $T/state/store.db* aside to start an empty cluster" \
    "$T/refused" || fail "no way out in: $(cat "$T/refused")"
  # following the advice starts an empty cluster
  mkdir "$T/aside" && mv "$T/state"/store.db* "$T/aside/"
  start_daemon
  expect_code 404 GET /api/v1/namespaces/kept
}

t_a_missing_or_empty_store_in_a_used_state_dir_is_refused() {
  start_daemon
  expect_code 201 POST /api/v1/namespaces '{"metadata":{"name":"kept"}}'
  stop_daemon || fail "exit status $? after SIGTERM"
  mv "$T/state/store.db" "$T/store.db.saved"
  refused_start "a missing store"
  grep -qF "netpol serve: $T/state/store.db is missing, but $T/state/store.db.created says" \
    "$T/refused" || fail "message: $(cat "$T/refused")"
  [ ! -e "$T/state/store.db" ] || fail "an empty store was made in its place"
  : > "$T/state/store.db"
  refused_start "an empty store"
  grep -qF "netpol serve: $T/state/store.db is empty (0 bytes), but" "$T/refused" ||
    fail "message: $(cat "$T/refused")"
  mv "$T/store.db.saved" "$T/state/store.db"
  start_daemon
  expect_code 200 GET /api/v1/namespaces/kept
}

# A page goes bad under the running daemon: reads of it and every write
# from then on answer a Status that says so, not a bare I/O error.
t_corruption_found_while_running_stops_writes_with_a_clear_status() {
  start_daemon
  expect_code 201 POST /api/v1/namespaces '{"metadata":{"name":"kept"}}'
  spoil_objects_page
  expect_code 500 GET /api/v1/namespaces/kept
  jbody .message | grep "the store's database is corrupt, so it accepts no more writes" >/dev/null ||
    fail "message: $(jbody .message)"
  expect_code 500 POST /api/v1/namespaces '{"metadata":{"name":"new"}}'
  jbody .message | grep "database is corrupt" >/dev/null || fail "message: $(jbody .message)"
  stop_daemon
  refused_start "a store found corrupt while running"
  grep -qF "$T/state/store.db is corrupt (quick_check: " "$T/refused" ||
    fail "message at restart: $(cat "$T/refused")"
}

# ---- tests: a full disk ------------------------------------------------------------------

# The create is refused with the disk-full Status (kubectl and netpol print
# it); a delete still goes through; once space is freed, creates work again.
t_a_full_disk_refuses_creates_and_deletes_still_work() {
  [ "$(id -u)" = 0 ] || skip "needs root for a private tmpfs"
  command -v nsenter > /dev/null || skip "nsenter is not installed"
  unshare -m --propagation private true 2> /dev/null || skip "cannot make a mount namespace here"
  start_daemon_on_tmpfs 32m
  local i code
  for i in 1 2 3; do
    expect_code 201 POST /api/v1/namespaces/default/pods "$(big_pod "p$i" 100 x)"
  done
  in_daemon_ns sh -c "dd if=/dev/zero of='$T/state/fill' bs=64k 2>/dev/null; true"
  # the WAL may still hold room for a few small writes
  for i in $(seq 1 200); do
    code=$(api POST /api/v1/namespaces '{"metadata":{"name":"n'"$i"'"}}')
    [ "$code" = 201 ] || break
  done
  [ "$code" = 507 ] || fail "create on a full disk: $code $(head -c 300 "$T/body")"
  [ "$(jbody .reason)" = InsufficientStorage ] || fail "reason: $(head -c 300 "$T/body")"
  jbody .message | grep "^the disk of the store is full" >/dev/null || fail "message: $(jbody .message)"
  # what the CLIs print
  NETPOL_SOCKET=$T/api.sock NETPOL_STATE_DIR=$T/state timeout 30 "$NETPOL" create \
    namespace full > "$T/netpol.out" 2>&1 && fail "netpol create on a full disk succeeded"
  grep -q "Error from server (InsufficientStorage): the disk of the store is full" \
    "$T/netpol.out" || fail "netpol printed: $(cat "$T/netpol.out")"
  if [ -n "$KUBECTL" ]; then
    in_daemon_ns cat "$T/state/pki/ca.crt" > "$T/ca.crt"
    in_daemon_ns cat "$T/state/token" > "$T/token"
    make_kubeconfig "$T/ca.crt" "$T/token"
    HOME=$T KUBECONFIG=$T/kubeconfig timeout 30 "$KUBECTL" create namespace full \
      > "$T/k.out" 2>&1 && fail "kubectl create on a full disk succeeded"
    grep -q "Error from server (InsufficientStorage): the disk of the store is full" \
      "$T/k.out" || fail "kubectl printed: $(cat "$T/k.out")"
  fi
  expect_code 200 DELETE /api/v1/namespaces/default/pods/p1
  expect_code 200 DELETE /api/v1/namespaces/default/pods/p2
  expect_code 404 GET /api/v1/namespaces/default/pods/p1
  in_daemon_ns rm "$T/state/fill"
  expect_code 201 POST /api/v1/namespaces '{"metadata":{"name":"after"}}'
  expect_code 201 POST /api/v1/namespaces/default/pods "$(big_pod p4 100 x)"
}

# ---- tests: the file stays bounded -----------------------------------------------------------

# 150 writes of 64 KiB (9.6 MB of events) with 1 MiB of history: store.db
# stays under 2 MiB, with its WAL under 6 MiB, and old watches are 410.
t_event_history_is_bounded_in_bytes_and_the_file_with_it() {
  start_daemon --watch-history-bytes 1048576
  local i peak=0 now c
  expect_code 201 POST /api/v1/namespaces/default/pods "$(big_pod big 10 x)"
  for i in $(seq 1 150); do
    c=$(printf "\\x$(printf %x $((97 + i % 26)))")
    expect_code 200 PUT /api/v1/namespaces/default/pods/big "$(big_pod big 65536 "$c")"
    now=$(( $(size_of "$T/state/store.db") + $(size_of "$T/state/store.db-wal") ))
    [ "$now" -gt "$peak" ] && peak=$now
  done
  now=$(size_of "$T/state/store.db")
  [ "$now" -lt $((2 << 20)) ] || fail "store.db is $now bytes after 9.6 MB of events"
  [ "$peak" -lt $((6 << 20)) ] || fail "store.db with its WAL reached $peak bytes"
  expect_code 410 GET "/api/v1/pods?watch=1&resourceVersion=1&timeoutSeconds=1"
  echo "store.db $now bytes, peak with WAL $peak bytes"
}

# 40 pods of 64 KiB, deleted, their events compacted away (history 20):
# store.db shrinks below 1 MiB.
t_space_of_deleted_objects_goes_back_to_the_disk() {
  start_daemon --watch-history 20
  local i full now
  for i in $(seq 1 40); do
    expect_code 201 POST /api/v1/namespaces/default/pods "$(big_pod "p$i" 65536 x)"
  done
  full=$(( $(size_of "$T/state/store.db") + $(size_of "$T/state/store.db-wal") ))
  [ "$full" -gt $((3 << 20)) ] || fail "only $full bytes with 40 pods of 64 KiB"
  for i in $(seq 1 40); do
    expect_code 200 DELETE "/api/v1/namespaces/default/pods/p$i"
  done
  for i in $(seq 1 25); do
    expect_code 200 PATCH /api/v1/namespaces/default '{"metadata":{"labels":{"n":"'"$i"'"}}}' \
      application/merge-patch+json
  done
  now=$(size_of "$T/state/store.db")
  [ "$now" -lt $((1 << 20)) ] || fail "store.db is still $now bytes (was $full with its WAL)"
  echo "store.db with its WAL $full bytes, then store.db $now bytes"
}

# ---- main ------------------------------------------------------------------------------------

run a_fresh_state_dir_starts_empty_and_is_marked t_a_fresh_state_dir_starts_empty_and_is_marked
run a_corrupt_store_is_refused_naming_the_file_and_the_way_out t_a_corrupt_store_is_refused_naming_the_file_and_the_way_out
run a_missing_or_empty_store_in_a_used_state_dir_is_refused t_a_missing_or_empty_store_in_a_used_state_dir_is_refused
run corruption_found_while_running_stops_writes_with_a_clear_status t_corruption_found_while_running_stops_writes_with_a_clear_status
run a_full_disk_refuses_creates_and_deletes_still_work t_a_full_disk_refuses_creates_and_deletes_still_work
run event_history_is_bounded_in_bytes_and_the_file_with_it t_event_history_is_bounded_in_bytes_and_the_file_with_it
run space_of_deleted_objects_goes_back_to_the_disk t_space_of_deleted_objects_goes_back_to_the_disk
exit 0
