#!/bin/bash
# libp2ptcp as an outside program sees it: `make install` into a staging
# directory, the example built from nothing but the installed header and
# `pkg-config --cflags --libs p2ptcp`, linked with the shared library and
# run; the shared library's soname and its exported symbols, which must be
# exactly the functions the public header declares.
# Ends with "check: P passed, F failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build/default}
stage=$(mktemp -d /tmp/ptcp-install.XXXXXX)
trap 'rm -rf "$stage"' EXIT
passed=0 failed=0

# A sanitizer build's library needs its runtime loaded first: an outside
# program cannot use it as it is, so this test is for the plain build.
if ldd "$BUILD/libp2ptcp.so" 2>/dev/null | grep -q 'lib[at]san\|libubsan'; then
	echo "skipping: $BUILD is a sanitizer build"
	echo "check: 0 passed, 0 failed, 1 skipped"
	exit 0
fi

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && sed 's/^/    | /' "$2" | head -20; }

if make -s install BUILD="$BUILD" DESTDIR="$stage" PREFIX=/usr >"$stage/install.log" 2>&1; then
	ok "make install into a staging directory"
else
	fail "make install into a staging directory" "$stage/install.log"
fi

export PKG_CONFIG_PATH="$stage/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage"
if flags=$(pkg-config --cflags --libs p2ptcp 2>"$stage/pc.log") &&
	[ "$(pkg-config --modversion p2ptcp)" = "$(sed -n 's/^#define PTCP_VERSION_STR "\(.*\)"/\1/p' include/p2ptcp/version.h)" ]; then
	ok "pkg-config knows p2ptcp $(pkg-config --modversion p2ptcp)"
else
	fail "pkg-config p2ptcp" "$stage/pc.log"
fi

# shellcheck disable=SC2086  # the flags are words
if ${CC:-cc} -std=c11 -Wall -Wextra -Werror -o "$stage/p2ptcp-cat" examples/p2ptcp-cat.c \
	$flags >"$stage/cc.log" 2>&1; then
	ok "the example builds with only pkg-config's flags"
else
	fail "the example builds with only pkg-config's flags" "$stage/cc.log"
fi

# It runs against the staged shared library: no arguments is a usage error.
LD_LIBRARY_PATH="$stage/usr/lib" "$stage/p2ptcp-cat" >"$stage/run.log" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "^usage: p2ptcp-cat" "$stage/run.log" &&
	LD_LIBRARY_PATH="$stage/usr/lib" ldd "$stage/p2ptcp-cat" | grep -q "libp2ptcp.so.0 => $stage"; then
	ok "the example runs on the staged libp2ptcp.so.0"
else
	fail "the example runs on the staged libp2ptcp.so.0 (exit $rc)" "$stage/run.log"
fi

so=$(readlink -f "$stage/usr/lib/libp2ptcp.so")
if readelf -d "$so" | grep -q "SONAME.*\[libp2ptcp.so.0\]"; then
	ok "soname libp2ptcp.so.0"
else
	fail "soname libp2ptcp.so.0"
fi

# The units name the programs where this install put them.
if grep -q "^ExecStart=/usr/bin/p2ptcp listen" "$stage/usr/lib/systemd/system/p2ptcp-listen@.service" 2>/dev/null &&
	grep -q "^ExecStart=/usr/sbin/rendezvousd" "$stage/usr/lib/systemd/system/rendezvousd.service" 2>/dev/null; then
	ok "the systemd units run the installed programs (PREFIX=/usr)"
else
	fail "the systemd units run the installed programs (PREFIX=/usr)"
fi

# Exported functions = the functions the header declares.
nm -D --defined-only "$so" | awk '$2 == "T" {print $3}' | sed 's/@.*//' | sort -u >"$stage/exported"
sed -n 's/^[a-z].*[ *]\(ptcp_[a-z_]*\)(.*/\1/p' "$stage/usr/include/p2ptcp/p2ptcp.h" | sort -u \
	>"$stage/declared"
if diff "$stage/declared" "$stage/exported" >"$stage/diff" 2>&1; then
	ok "exports are exactly the header's $(wc -l <"$stage/declared") functions"
else
	fail "exports differ from the header's functions (< header, > library)" "$stage/diff"
fi

echo "check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
