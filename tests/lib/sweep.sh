# Sourced by the kernel suites: removes what a lab named $1 may have left
# (its processes, its network namespaces "$1-*", its state under
# /run/netpol) after a crash or a failed test. The lab's name never prefixes
# another lab's (src/lab: [a-z0-9], no hyphen), so nothing else is touched.
sweep_lab() {
  local lab=$1 ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$lab-"); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "/run/netpol/$lab" "/run/netpol/$lab.lock" "/run/netpol/$lab-agent.ready" \
    "/run/netpol/$lab-agent.pid"
}
