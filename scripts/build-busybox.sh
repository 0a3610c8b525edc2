#!/usr/bin/env bash
# Builds the busybox that the lab's `busybox` image runs, from Debian's
# source package, with what the tutorial needs switched on: Debian's build
# lacks `wget --timeout=N` (FEATURE_WGET_TIMEOUT).
#
# The result is cached, so later runs return at once:
#   /var/cache/netpol/busybox/busybox      the binary
#   /var/cache/netpol/busybox/bin/         one symlink per applet (PATH for pods)
#
# The system's apt configuration is never touched: the deb-src entry, the
# package lists and apt's caches all live in a private temporary directory.
# Usage: scripts/build-busybox.sh [--force]
set -euo pipefail

CACHE=${NETPOL_CACHE:-/var/cache/netpol}
DEST=$CACHE/busybox
SUITE=${BUSYBOX_SUITE:-bookworm}

# The help text is read whole before it is searched: `busybox ... | grep -q`
# let grep exit at the first match, busybox died of SIGPIPE on its next
# write, pipefail made the check fail at random, and a check run beside a
# running lab rebuilt (and replaced) the binary its pods were using.
have_timeout() {
	local help
	[ -x "$DEST/busybox" ] && [ -x "$DEST/bin/wget" ] &&
		help=$("$DEST/busybox" wget --help 2>&1) && [[ $help == *"-T SEC"* ]]
}

if [ "${1:-}" != "--force" ] && have_timeout; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "build-busybox: run as root (writes $CACHE)" >&2
	exit 1
fi
# One build at a time: two `make check`s on one machine must not replace
# the cache under each other. The second one finds the first one's result.
mkdir -p "$CACHE"
exec 9>"$CACHE/.busybox.lock"
flock 9
if [ "${1:-}" != "--force" ] && have_timeout; then
	exit 0
fi
for tool in apt-get dpkg-source make gcc; do
	command -v "$tool" >/dev/null || {
		echo "build-busybox: $tool is missing (scripts/setup.sh installs it)" >&2
		exit 1
	}
done

# The same mirror the system uses for binary packages.
mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
	grep -v security | head -n1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d /tmp/netpol-busybox.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/parts" "$work/src"
echo "deb-src $mirror $SUITE main" > "$work/sources.list"
echo "deb-src $mirror $SUITE-updates main" >> "$work/sources.list"

apt_opts=(
	-o "Dir::Etc::SourceList=$work/sources.list"
	-o "Dir::Etc::SourceParts=$work/parts"
	-o "Dir::State::Lists=$work/lists"
	-o "Dir::Cache=$work/cache"
	-o "APT::Sandbox::User=root"
	-o "Debug::NoLocking=1"
)

start=$(date +%s)
echo "build-busybox: fetching Debian's busybox source ($SUITE, $mirror)"
apt-get "${apt_opts[@]}" -qq update
(cd "$work/src" && apt-get "${apt_opts[@]}" -qq source busybox >/dev/null)
srcdir=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'busybox-*' | head -n1)
[ -n "$srcdir" ] || { echo "build-busybox: source package did not unpack" >&2; exit 1; }

# Debian's "deb" flavour is the config of /bin/busybox; start from it so the
# applets behave as Debian's do, and switch on what the tutorial needs.
cd "$srcdir"
cp debian/config/pkg/deb .config
set_opt() { # set_opt NAME y|n
	sed -i "/^CONFIG_$1=/d; /^# CONFIG_$1 is not set/d" .config
	if [ "$2" = y ]; then echo "CONFIG_$1=y" >> .config
	else echo "# CONFIG_$1 is not set" >> .config; fi
}
set_opt WGET y
set_opt FEATURE_WGET_TIMEOUT y
set_opt FEATURE_WGET_LONG_OPTIONS y
set_opt FEATURE_WGET_STATUSBAR y
set_opt NSLOOKUP y
# The small nslookup asks libc, so it follows resolv.conf's search list and
# ndots like every other program in the pod (and prints the classic
# "Server: / Address 1:" format the tutorial shows).
set_opt FEATURE_NSLOOKUP_BIG n
# Debian links its busybox against a private copy of nothing: keep it
# dynamic, like /bin/busybox.
set_opt STATIC n
{ yes '' || true; } | make oldconfig >"$work/oldconfig.log" 2>&1 || {
	tail -n 20 "$work/oldconfig.log" >&2; exit 1; }
grep -q '^CONFIG_FEATURE_WGET_TIMEOUT=y' .config || {
	echo "build-busybox: FEATURE_WGET_TIMEOUT did not stick" >&2; exit 1; }
echo "build-busybox: compiling ($(nproc) cores)"
make -j"$(nproc)" busybox >"$work/build.log" 2>&1 || {
	tail -n 40 "$work/build.log" >&2; exit 1; }

mkdir -p "$DEST.new/bin"
install -m 0755 busybox "$DEST.new/busybox"
for applet in $("$DEST.new/busybox" --list); do
	ln -sf ../busybox "$DEST.new/bin/$applet"
done
# Swapped by a rename so that a pod never sees a half-written cache.
rm -rf "$DEST.old"
[ ! -e "$DEST" ] || mv "$DEST" "$DEST.old"
mv "$DEST.new" "$DEST"
rm -rf "$DEST.old"
end=$(date +%s)
echo "build-busybox: $DEST/busybox built in $((end - start)) s"
have_timeout || { echo "build-busybox: built binary lacks wget -T" >&2; exit 1; }
