#!/usr/bin/env bash
# The lab runtime's tests, run by tests/run.sh (as root) with
# NETPOL=/path/to/build/netpol. Prints "PASS name" / "FAIL name: why".
#
# The C tests live beside the lab library in the build tree
# (BUILD/src/lab/test_lab_*); they run from the plain build and, when it is
# there, from the ASan+UBSan build too. Every lab they make is named from
# LAB_TEST_PREFIX ("s<pid>..."), so this suite can sweep whatever a crash
# leaves behind, and can check that nothing of its labs is left at the end.
set -uo pipefail
cd "$(dirname "$0")/../.."

NETPOL=${NETPOL:-build/netpol}
BUILD=$(dirname "$NETPOL")
BUILD_ASAN=${BUILD_ASAN:-build-asan}
PREFIX="s$$"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Leftovers of our labs, whatever happened: processes first (they would keep
# a namespace alive), then the namespaces, then the state directories.
sweep() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX"); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf /run/netpol/"$PREFIX"* 2>/dev/null
}
trap sweep EXIT

# run_c LABEL BINARY [PREFIX]: forwards a C test program's result lines.
run_c() {
	local label=$1 bin=$2 out rc
	if [ ! -x "$bin" ]; then
		echo "FAIL $label: $bin is not built"
		return
	fi
	out=$(LAB_TEST_PREFIX="${3:-$PREFIX}" "$bin" 2>&1); rc=$?
	echo "$out" | sed -n "s|^PASS |PASS $label/|p; s|^FAIL |FAIL $label/|p"
	echo "$out" | grep '^#' >&2
	if [ $rc -ne 0 ] && ! echo "$out" | grep '^FAIL ' >/dev/null; then
		echo "FAIL $label: exited $rc"
		echo "$out" | tail -n 20 >&2
	fi
}

run_c unit "$BUILD/src/lab/test_lab_unit"
if [ -x "$BUILD_ASAN/src/lab/test_lab_unit" ]; then
	run_c asan/unit "$BUILD_ASAN/src/lab/test_lab_unit"
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "FAIL node: the lab's kernel tests need root"
	exit 1
fi
if ! scripts/build-busybox.sh >/tmp/netpol-busybox-$$.log 2>&1; then
	echo "FAIL busybox_image_builds: $(tail -n 1 /tmp/netpol-busybox-$$.log)"
fi
rm -f /tmp/netpol-busybox-$$.log

# Each program gets a prefix of its own: s<pid><letter><letter>.
letters=(a b c d e f g h)
i=0
for t in node services stdin; do
	run_c "$t" "$BUILD/src/lab/test_lab_$t" "${PREFIX}${letters[i]}"
	if [ -x "$BUILD_ASAN/src/lab/test_lab_$t" ]; then
		run_c "asan/$t" "$BUILD_ASAN/src/lab/test_lab_$t" "${PREFIX}${letters[i+1]}"
	fi
	i=$((i + 2))
done

left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PREFIX" | tr '\n' ' ')
if [ -z "$left" ] && [ -z "$(ls -d /run/netpol/"$PREFIX"* 2>/dev/null)" ]; then
	echo "PASS no_namespace_or_state_left_after_the_suite"
else
	echo "FAIL no_namespace_or_state_left_after_the_suite: left: $left"
fi
