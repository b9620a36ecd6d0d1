#!/bin/sh
# Fails if an engine object refers to any external function other than the
# allowed libc ones and the functions the checked objects define among
# themselves: the engine must not reach sockets, clocks, stdio, malloc or
# random sources, directly or through a driver's ptcp_* function.
# Usage: check-sans-io.sh "allowed names" objs...
set -eu
allowed=$1
shift
defined=$(nm --defined-only "$@" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[TDBRW]$/ {print $3}' | sort -u)
bad=0
for obj in "$@"; do
	for sym in $(nm -u "$obj" | awk '{print $2}'); do
		case "$sym" in
		__asan*|__ubsan*|__sanitizer*|__tsan*|_GLOBAL_OFFSET_TABLE_) continue ;;
		esac
		ok=0
		for a in $allowed $defined; do
			[ "$sym" = "$a" ] && ok=1 && break
		done
		if [ $ok -eq 0 ]; then
			echo "sans-io: $obj calls $sym" >&2
			bad=1
		fi
	done
done
exit $bad
