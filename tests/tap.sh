# A small TAP producer for the shell tests (sourced).
#   ok_if CONDITION-STATUS "description" [diagnostic...]
#   tap_done
# Binaries come from $BUILD (the build tree), captures from $PCAPS.

: "${BUILD:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${SRCDIR:=$(cd "$(dirname "$0")/.." && pwd)}"
PCAPS=${PCAPS:-$SRCDIR/pcaps}
# Times for people follow TZ: the expectations are written in UTC, and a
# test of another zone says so itself.
export TZ=UTC
UDPFLOWD="$BUILD/udpflowd"
UDPFLOWS="$BUILD/udpflows"
tap_n=0
tap_failed=0

TMP=$(mktemp -d "${TMPDIR:-/tmp}/udpflows-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# ok_if STATUS DESCRIPTION [DIAGNOSTIC]: STATUS 0 is a pass.
ok_if() {
	local st=$1 desc=$2
	shift 2
	tap_n=$((tap_n + 1))
	if [ "$st" -eq 0 ]; then
		echo "ok $tap_n - $desc"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $desc"
		for d in "$@"; do printf '%s\n' "$d" | sed 's/^/# /'; done
	fi
}

# is GOT WANT DESCRIPTION
is() {
	[ "$1" = "$2" ]
	ok_if $? "$3" "got:  $1" "want: $2"
}

# like TEXT REGEX DESCRIPTION (extended regex)
like() {
	printf '%s' "$1" | grep -Eq -- "$2"
	ok_if $? "$3" "got:  $1" "want: /$2/"
}

# tap_skip DESCRIPTION REASON: a test that cannot run here, said so.
tap_skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

tap_skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

tap_done() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
