#!/bin/bash
# Runs every test and prints one closing line "N passed, N failed".
#
# - every test binary under $BUILD/tests (unit, packet scripts, simulation,
#   driver tests): each prints "check: P passed, F failed";
# - the sans-IO check of the engine's objects;
# - every tests/netns/test_*.sh when running as root with ip(8) available
#   (each prints "netns: P passed, F failed"); otherwise they are reported
#   as skipped, never as passed.
set -u
BUILD=${BUILD:-build/default}
cd "$(dirname "$0")/.." || exit 1

passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

tally() { # name, exit status, output file
	local line p f
	line=$(grep -E '^(check|netns): [0-9]+ passed, [0-9]+ failed' "$3" | tail -1)
	if [ -z "$line" ]; then
		echo "FAIL $1: no result line (exit $2)"
		failed=$((failed + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $1: exit $2 with no failed test"
		failed=$((failed + 1))
	fi
	printf '%-40s %s\n' "$1" "${line#*: }"
}

for t in $(find "$BUILD/tests" -type f -perm -u+x -name 'test_*' | sort); do
	timeout 600 "$t" >"$log" 2>&1
	rc=$?
	[ $rc -ne 0 ] && cat "$log"
	tally "${t#"$BUILD"/}" $rc "$log"
done

# Script tests that need neither root nor namespaces (the staged install).
for t in $(ls tests/scripts/test_*.sh 2>/dev/null); do
	BUILD=$BUILD timeout 600 bash "$t" >"$log" 2>&1
	rc=$?
	[ $rc -ne 0 ] && cat "$log"
	tally "$t" $rc "$log"
done

# The engine and the protocol codecs (core/proto) must stay sans-IO.
if tests/check-sans-io.sh "${SANS_IO_ALLOWED:-memcpy memmove memset memcmp}" "$BUILD"/core/engine/*.o \
	"$BUILD"/core/proto/*.o; then
	passed=$((passed + 1)); printf '%-40s ok\n' "sans-io check"
else
	failed=$((failed + 1)); echo "FAIL sans-io check"
fi

netns_tests=$(ls tests/netns/test_*.sh 2>/dev/null)
if [ -n "$netns_tests" ]; then
	if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null 2>&1 && [ -z "${PTCP_SKIP_NETNS:-}" ]; then
		for t in $netns_tests; do
			BUILD=$BUILD timeout 1200 bash "$t" >"$log" 2>&1
			rc=$?
			[ $rc -ne 0 ] && cat "$log"
			tally "$t" $rc "$log"
		done
	else
		n=$(echo "$netns_tests" | wc -l)
		skipped=$((skipped + n))
		echo "skipping $n namespace test file(s): need root and ip(8)"
	fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
