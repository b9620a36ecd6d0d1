#!/bin/sh
# Runs each libFuzzer binary given as an argument for $FUZZ_SECONDS seconds
# (default 20) and prints one line per target. Each starts from a copy of
# its seed corpus tests/fuzz/corpus/<binary name>/ in a temporary directory,
# so what it discovers does not pollute the repository. Crash, leak and
# timeout inputs are kept in build/fuzz/artifacts/ (or $FUZZ_ARTIFACTS),
# next to the fuzzer's log. Exits 1 if any target failed.
#
# Usage: FUZZ_SECONDS=60 tests/fuzz/run.sh build/fuzz/fuzz_segment ...
set -u

secs=${FUZZ_SECONDS:-20}
root=$(cd "$(dirname "$0")/../.." && pwd)
artifacts=${FUZZ_ARTIFACTS:-$root/build/fuzz/artifacts}
# UBSan only prints by default; a finding must stop the run like a crash.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export UBSAN_OPTIONS

if [ $# -eq 0 ]; then
	echo "usage: $0 fuzz-binary..." >&2
	exit 2
fi
mkdir -p "$artifacts" || exit 1

failed=0
for bin in "$@"; do
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		echo "FAIL fuzz $name: no executable '$bin'"
		failed=1
		continue
	fi
	work=$(mktemp -d) || exit 1
	seeds="$root/tests/fuzz/corpus/$name"
	nseeds=0
	if [ -d "$seeds" ]; then
		cp -R "$seeds"/. "$work"/
		nseeds=$(ls "$work" | wc -l)
	fi
	log="$artifacts/$name.log"
	# -timeout: an input that takes this long is a hang, reported as a failure.
	"$bin" -max_total_time="$secs" -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$artifacts/$name-" "$work" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	ncorpus=$(ls "$work" | wc -l)
	if [ $rc -eq 0 ]; then
		printf 'fuzz %-24s ok, %s runs in %ss, corpus %d -> %d\n' \
			"$name" "${runs:-?}" "$secs" "$nseeds" "$ncorpus"
	else
		failed=1
		printf 'FAIL fuzz %-24s exit %d, log %s\n' "$name" $rc "$log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' "$log" |
			head -n 10 | sed 's/^/    /'
	fi
	rm -rf "$work"
done
exit $failed
