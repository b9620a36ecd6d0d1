#!/bin/bash
# The rendezvous server's resolver (core/rdv/resolve.c: c-ares on
# libevent) through tests/tools/resolvecheck, in a namespace of its own
# whose only interface is loopback: no look-up can leave it. The
# namespace has its own resolv.conf (nameserver 127.0.0.1, where nothing
# serves DNS: queries are refused at once), hosts file and nsswitch.conf:
# `ip netns exec NS` bind-mounts each file of /etc/netns/NS/ over the one
# in /etc/, and c-ares reads those. The test makes that directory and
# removes it on every exit path. An nftables counter in the namespace
# counts the DNS queries sent at all.
#
# Cases: a numeric address and a name from the hosts file (no DNS query);
# a bare name (the SRV query first, refused, then the hosts file with the
# default port); a name nobody has (one failure that quotes it); a DNS
# server that never answers, past the resolver's time limit (one failure,
# and no second one when c-ares gives up later); splitting addresses.
# Every look-up must call back exactly once and leave nothing running.
# Ends with "netns: P passed, F failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

RESOLVECHECK=${RESOLVECHECK:-$BUILD/tests/tools/resolvecheck}
T_CASE_LIMIT=${T_CASE_LIMIT:-60}

res_init() {
	t_init || return 1
	if [ ! -x "$RESOLVECHECK" ]; then
		echo "netns: $RESOLVECHECK is missing (make test-build)"
		return 1
	fi
}

# res_ns: this case's namespace (loopback only) with its resolver files
# (lab_resolver), and a counter of DNS queries leaving any socket in it.
res_ns() {
	lab__ns_add res || return 1
	NS=$LAB_NS_LAST
	lab_resolver "$NS" "198.51.100.7 rdv.test" "2001:db8::7 rdv.test" "203.0.113.20 other.test" ||
		return 1
	ip netns exec "$NS" nft -f - <<'EOF' || return 1
table inet rescount {
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr 127.0.0.1 meta l4proto { udp, tcp } th dport 53 counter
	}
}
EOF
	local links
	links=$(ip -n "$NS" -o link show | wc -l)
	[ "$links" = 1 ] || { t_fail "the namespace has $links interfaces, want loopback only"; return 1; }
}

# queries: DNS packets sent to the namespace's resolver so far.
queries() {
	ip netns exec "$NS" nft list table inet rescount | sed -nE 's/.*counter packets ([0-9]+).*/\1/p'
}

# check NAME ARGS...: resolvecheck in $NS (bounded), output in NAME.out;
# returns its status.
check() {
	local name=$1
	shift
	t_log "$LAB_DIR/$name.out"
	timeout 30 ip netns exec "$NS" "$RESOLVECHECK" "$@" >"$LAB_DIR/$name.out" 2>&1
}

# expect_line NAME LINE: NAME's output has exactly LINE.
expect_line() {
	grep -qxF -- "$2" "$LAB_DIR/$1.out" || t_fail "$1: want '$2', got '$(tr '\n' '|' <"$LAB_DIR/$1.out")'"
}

case_numeric() {
	res_ns || return 1
	check num resolve 192.0.2.5:7000 || t_fail "numeric: exit $?"
	expect_line num "answer n=1 eps=192.0.2.5:7000"
	expect_line num "calls=1"
	check num6 resolve '[2001:db8::5]:7001' || t_fail "numeric IPv6: exit $?"
	expect_line num6 "answer n=1 eps=[2001:db8::5]:7001"
	[ "$(queries)" = 0 ] || t_fail "a numeric address sent $(queries) DNS queries"
}

case_hosts() {
	res_ns || return 1
	# the namespace's hosts file, not the machine's: IPv4 first
	check h1 resolve rdv.test:7000 || t_fail "rdv.test: exit $?"
	expect_line h1 "answer n=2 eps=198.51.100.7:7000,[2001:db8::7]:7000"
	expect_line h1 "calls=1"
	check h2 resolve other.test:7001 || t_fail "other.test: exit $?"
	expect_line h2 "answer n=1 eps=203.0.113.20:7001"
	[ "$(queries)" = 0 ] || t_fail "names from the hosts file sent $(queries) DNS queries"
	# a bare name: the SRV record is asked for first (refused: nothing
	# serves DNS here), then the hosts file gives the address and the
	# default port
	check h3 resolve rdv.test --default-port 7450 || t_fail "bare rdv.test: exit $?"
	expect_line h3 "answer n=2 eps=198.51.100.7:7450,[2001:db8::7]:7450"
	expect_line h3 "calls=1"
	[ "$(queries)" -ge 1 ] || t_fail "no SRV query was sent to the namespace's resolver"
}

case_nobody() {
	local n
	res_ns || return 1
	check nb resolve no-such-host.invalid:7000
	n=$?
	[ $n = 0 ] || t_fail "nobody's name: exit $n, want 0 (one call)"
	grep -q "^answer n=0 msg=cannot resolve 'no-such-host.invalid': " "$LAB_DIR/nb.out" ||
		t_fail "nb: $(tr '\n' '|' <"$LAB_DIR/nb.out")"
	[ "$(grep -c '^answer' "$LAB_DIR/nb.out")" = 1 ] || t_fail "more than one answer"
	expect_line nb "calls=1"
	# the namespace's resolv.conf was used: its resolver was asked
	[ "$(queries)" -ge 1 ] || t_fail "no DNS query reached 127.0.0.1 in the namespace"
}

# A DNS server that takes the queries and never answers (the namespace
# drops them on the way in, so no "port unreachable" comes back): the
# resolver's limit (300 ms) ends the look-up with one failure, well before
# c-ares' own tries would give up, and nothing of it is left.
case_silent() {
	res_ns || return 1
	ip netns exec "$NS" nft add chain inet rescount in '{ type filter hook input priority 0; }' &&
		ip netns exec "$NS" nft add rule inet rescount in meta l4proto '{ udp, tcp }' th dport 53 drop ||
		return 1
	check s1 resolve slow.test:7000 --timeout 300
	[ $? = 0 ] || t_fail "a silent resolver: exit, want 0 (one call)"
	expect_line s1 "answer n=0 msg=cannot resolve 'slow.test': no answer within 300 ms"
	expect_line s1 "calls=1"
	[ "$(queries)" -ge 1 ] || t_fail "no DNS query was sent"
}

case_split() {
	res_ns || return 1
	check p1 split rdv.example.org && expect_line p1 "host=rdv.example.org port=0" || t_fail "p1"
	check p2 split rdv.example.org:7451 && expect_line p2 "host=rdv.example.org port=7451" || t_fail "p2"
	check p3 split '[rdv6.example]:9' && expect_line p3 "host=rdv6.example port=9" || t_fail "p3"
	check p4 split 2001:db8::1 && expect_line p4 "host=2001:db8::1 port=0" || t_fail "p4"
	check p5 split h:0 && t_fail "h:0 accepted"
	expect_line p5 "invalid port: '0'"
	check p6 split h:70000 && t_fail "h:70000 accepted"
	expect_line p6 "invalid port: '70000'"
	check p7 split :80 && t_fail ":80 accepted"
	expect_line p7 "invalid rendezvous address: ':80'"
	check p8 split '[x' && t_fail "[x accepted"
	expect_line p8 "invalid rendezvous address: '[x'"
	# the tool's own usage errors quote the value
	check u1 resolve rdv.test --timeout soon
	[ $? = 2 ] || t_fail "a bad --timeout: not a usage error"
	expect_line u1 "resolvecheck: invalid timeout: 'soon'"
}

res_init || exit 1
t_run "resolve: a numeric address, IPv4 and IPv6, without a DNS query" case_numeric
t_run "resolve: names from the namespace's hosts file; a bare name asks SRV first" case_hosts
t_run "resolve: a name nobody has: one failure quoting it" case_nobody
t_run "resolve: a resolver that never answers: one failure at the time limit, nothing left" case_silent
t_run "resolve: splitting rendezvous addresses" case_split
t_summary
