#!/bin/sh
# Fails if an engine object refers to any external function other than the
# allowed libc ones: the engine must not reach sockets, clocks, stdio,
# malloc or random sources. Usage: check-sans-io.sh "allowed names" objs...
set -eu
allowed=$1
shift
bad=0
for obj in "$@"; do
	for sym in $(nm -u "$obj" | awk '{print $2}'); do
		case "$sym" in
		ptcp_*|__asan*|__ubsan*|__sanitizer*|__tsan*|_GLOBAL_OFFSET_TABLE_) continue ;;
		esac
		ok=0
		for a in $allowed; do
			[ "$sym" = "$a" ] && ok=1
		done
		if [ $ok -eq 0 ]; then
			echo "sans-io: $obj calls $sym" >&2
			bad=1
		fi
	done
done
exit $bad
