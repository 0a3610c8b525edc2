#!/usr/bin/env bash
# `make demo`: the Calico "advanced policy" tutorial (../shared/seed/advanced-policy.md)
# run for real in a private lab by `netpol demo advanced-policy` (the same kubectl
# commands, YAML and checks from the busybox access pod, each marked against
# what the tutorial says), then the same tutorial evaluated offline by
# `netpol explain` / `reach` / `lint` (scripts/demo-offline.sh).
# Needs root for the lab. DEMO_OFFLINE_ONLY=1 skips the lab part.
set -uo pipefail
cd "$(dirname "$0")/.."
NETPOL=${NETPOL:-build/netpol}
rc=0
if [ "${DEMO_OFFLINE_ONLY:-0}" != 1 ]; then
  "$NETPOL" demo advanced-policy || rc=1
  echo
  echo "================================================================"
  echo
fi
NETPOL=$NETPOL scripts/demo-offline.sh || rc=1
exit $rc
