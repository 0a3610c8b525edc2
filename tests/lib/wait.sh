# Sourced by the suites: waiting for a condition, never for a fixed time.
# Bounds are generous (tests must pass on a loaded machine: load above 4 on
# two cores); a wait that succeeds costs only the time the condition took.

# wait_for SECONDS CMD [ARGS...]: runs CMD every 0.05 s until it succeeds
# (status 0) or SECONDS have passed (status 1; CMD is tried once more at
# the deadline, so a slow CMD still gets its last chance).
wait_for() {
  local end=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -ge $end ] && return 1
    sleep 0.05
  done
}

# wait_exit SECONDS PID: waits until process PID (not necessarily a child)
# has gone; status 1 when it is still there after SECONDS.
wait_exit() { wait_for "$1" _wait_gone "$2"; }
_wait_gone() { ! kill -0 "$1" 2>/dev/null; }
