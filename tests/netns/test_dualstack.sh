#!/bin/bash
# shellcheck disable=SC2154  # ID_<key> and PID_<name> are set with eval
# Rendezvous mode over IPv6 and over both IP versions. The lab: two hosts
# each behind a router that NATs IPv4 (MASQUERADE, unsolicited SYNs
# dropped) and is a stateful IPv6 firewall without NAT (ip6tables with
# conntrack: the usual home router), a routed internet, rendezvousd on S
# (203.0.113.10 and 2001:db8:f3::10). The peers have both versions and no
# --local-addr; they find the server by name in a hosts file of their own
# (c-ares: A and AAAA records). B listens, A connects by peer id, 16 MiB
# each way, both FINs seen on the internet side of router A:
#   ipv6:        the server has only an IPv6 address (AAAA), the peers
#                register and punch over IPv6 through both firewalls;
#   both:        the server has both: the peers register over both and
#                punch both at once (Happy Eyeballs); one wins;
#   v6 broken:   IPv6 between the routers dropped (the server still
#                reached over it): IPv4 wins, within a bounded time;
#   v4 broken:   the reverse: IPv6 wins;
#   v4 server:   a name with both addresses for a server that listens on
#                IPv4 only: the IPv6 registration fails, IPv4 carries on.
# Each case prints the time from the start to ESTABLISHED of both peers.
# Ends with "netns: P passed, F failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))
# the bound for choosing a working version when the other is broken
CHOOSE_LIMIT=${CHOOSE_LIMIT:-5}

# dual_lab: the topology above, with S; the peers' hosts files name the
# server rdv.test (both addresses), rdv4.test and rdv6.test (one each).
dual_lab() {
	lab_two_nat drop with_s || return 1
	lab_two_nat_ipv6 || return 1
	local ns
	for ns in "$LAB_A" "$LAB_B"; do
		lab_resolver "$ns" "$LAB_S_IP rdv.test" "$LAB_S_IP6 rdv.test" "$LAB_S_IP rdv4.test" \
			"$LAB_S_IP6 rdv6.test" || return 1
	done
}

# dual_srv LISTEN-ADDR...: rendezvousd on S on each [ADDR]:7450.
dual_srv() {
	local a args=()
	for a in "$@"; do
		case $a in *:*) args+=(--listen "[$a]:7450") ;; *) args+=(--listen "$a:7450") ;; esac
	done
	lab_bg "$LAB_S" "$LAB_DIR/srv.out" "$LAB_DIR/srv.log" "$RDVD" -v --key-dir "$LAB_DIR/rdvd" \
		"${args[@]}"
	t_log "$LAB_DIR/srv.log"
	wait_for 5 listening "$LAB_S" 7450 || { t_fail "rendezvousd did not start"; return 1; }
}

# registered_over NAME VERSION: NAME's log says it waits for a peer over
# VERSION (IPv4 or IPv6).
registered_over() { grep -q "waiting for a peer to ask for .* ($2)" "$LAB_DIR/$1.log" 2>/dev/null; }

# dual_pair SERVER-NAME CAP-PCAP: B listens, A connects; both 16 MiB.
dual_pair() {
	local server=$1 v
	key ka && key kb || return 1
	eng_start eb "$LAB_B" $N 2 - listen --rendezvous "$server" --dir "$LAB_DIR/kb/p2ptcp" \
		--allow "$ID_ka" --timeout 40
	wait_for 10 waiting eb || { t_fail "the listener did not register"; return 1; }
	# a registration over each version the server has (the second may
	# come a moment after the first)
	[ -n "${WANT_REG:-}" ] && for v in $WANT_REG; do
		wait_for 5 registered_over eb "$v" || t_fail "the listener did not register over $v"
	done
	eng_start ea "$LAB_A" $N 1 - connect "$ID_kb" --rendezvous "$server" --dir "$LAB_DIR/ka/p2ptcp"
	expect_pair ea eb $N
	expect_no_tables "$LAB_A"
	expect_no_tables "$LAB_B"
	echo "    to ESTABLISHED: connect $(est_time ea) s, listen $(est_time eb) s after start"
}

# captured_pair SERVER-NAME VERSIONS: dual_pair, with the listener's
# registrations over VERSIONS waited for, and a capture of the segments
# with SYN, FIN or RST on the internet side of router A in $f.
captured_pair() {
	lab_capture_start "$LAB_INET" pa "$f" "$LAB_SYNFIN" || return 1
	WANT_REG=$2 dual_pair "$1"
	sleep 0.2
	lab_capture_stop
}

# fins_between CAP A B: FINs from A to B and from B to A in CAP (not the
# rendezvous connections' to S).
fins_between() {
	local f=$1 a=$2 b=$3 n
	n=$(lab_pcap_count "$f" "$(lab_tcp_flags 1 1) and src host $a and dst host $b")
	[ "$n" -ge 1 ] || t_fail "no FIN from $a to $b in ${f##*/}"
	n=$(lab_pcap_count "$f" "$(lab_tcp_flags 1 1) and src host $b and dst host $a")
	[ "$n" -ge 1 ] || t_fail "no FIN from $b to $a in ${f##*/}"
}

# no_segments CAP A B: nothing from A to B past SYNs (the path not taken:
# its SYNs may leave, nothing else).
no_segments() {
	local n
	n=$(lab_pcap_count "$1" "$(lab_tcp_flags 3 1) and src host $2 and dst host $3")
	[ "$n" -eq 0 ] || t_fail "$n FINs from $2 to $3 in ${1##*/}: that path was to be broken"
}

# chose NAME VERSION: NAME's connection is over VERSION (its session line
# names the peer's endpoint).
chose() {
	local want
	if [ "$2" = IPv6 ]; then want='session [a-z0-9]+ \[2001:db8:'; else want='session [a-z0-9]+ 203\.0\.113\.'; fi
	grep -qE "$want" "$LAB_DIR/$1.log" || t_fail "$1 did not end up on $2: $(grep -m1 'session ' "$LAB_DIR/$1.log")"
}

# in_time NAME: NAME was ESTABLISHED within CHOOSE_LIMIT seconds.
in_time() {
	local t
	t=$(est_time "$1")
	[ -n "$t" ] || { t_fail "$1 was never ESTABLISHED"; return 1; }
	awk -v t="$t" -v l="$CHOOSE_LIMIT" 'BEGIN { exit !(t <= l) }' ||
		t_fail "$1 took $t s to ESTABLISHED (limit $CHOOSE_LIMIT s)"
}

case_ipv6() {
	local f=$LAB_DIR/pa.pcap
	t_need_p2ptcp || return
	dual_lab || return 1
	dual_srv "$LAB_S_IP6" || return 1
	captured_pair rdv6.test IPv6 || return 1
	fins_between "$f" "$LAB_A_IP6" "$LAB_B_IP6"
	[ "$(lab_pcap_count "$f" "ip and tcp")" -eq 0 ] || t_fail "IPv4 segments on the internet"
	chose ea IPv6
	chose eb IPv6
	grep -q "registered with \[$LAB_S_IP6\]:7450" "$LAB_DIR/ea.log" ||
		t_fail "A did not register over IPv6 by the name's AAAA record"
}

case_both() {
	local f=$LAB_DIR/pa.pcap
	t_need_p2ptcp || return
	dual_lab || return 1
	dual_srv "$LAB_S_IP" "$LAB_S_IP6" || return 1
	captured_pair rdv.test "IPv4 IPv6" || return 1
	grep -q "both at once (Happy Eyeballs)" "$LAB_DIR/ea.log" || t_fail "A did not try both versions"
	grep -q "both at once (Happy Eyeballs)" "$LAB_DIR/eb.log" || t_fail "B did not try both versions"
	# both ended up on the same version, with its FINs on the wire
	if grep -qE 'session [a-z0-9]+ \[2001' "$LAB_DIR/ea.log"; then
		chose eb IPv6
		fins_between "$f" "$LAB_A_IP6" "$LAB_B_IP6"
		echo "    chosen: IPv6"
	else
		chose eb IPv4
		fins_between "$f" "$LAB_A_PUB" "$LAB_B_PUB"
		echo "    chosen: IPv4"
	fi
	in_time ea
	in_time eb
}

# broken VERSION: that version is dropped between the routers (not to S).
broken() {
	local v=$1 tool
	tool=$([ "$v" = IPv6 ] && echo ip6tables || echo iptables)
	ip netns exec "$LAB_INET" "$tool" -A FORWARD -i pa -o pb -j DROP &&
		ip netns exec "$LAB_INET" "$tool" -A FORWARD -i pb -o pa -j DROP
}

case_broken() {
	local bad=$1 good f=$LAB_DIR/pa.pcap
	good=$([ "$bad" = IPv6 ] && echo IPv4 || echo IPv6)
	t_need_p2ptcp || return
	dual_lab || return 1
	dual_srv "$LAB_S_IP" "$LAB_S_IP6" || return 1
	broken "$bad" || return 1
	captured_pair rdv.test "IPv4 IPv6" || return 1
	chose ea "$good"
	chose eb "$good"
	if [ "$good" = IPv4 ]; then
		fins_between "$f" "$LAB_A_PUB" "$LAB_B_PUB"
		no_segments "$f" "$LAB_A_IP6" "$LAB_B_IP6"
	else
		fins_between "$f" "$LAB_A_IP6" "$LAB_B_IP6"
		no_segments "$f" "$LAB_A_PUB" "$LAB_B_PUB"
	fi
	in_time ea
	in_time eb
}

# The name has both addresses, the server listens on IPv4 only.
case_v4_server() {
	local f=$LAB_DIR/pa.pcap
	t_need_p2ptcp || return
	dual_lab || return 1
	dual_srv "$LAB_S_IP" || return 1
	captured_pair rdv.test IPv4 || return 1
	fins_between "$f" "$LAB_A_PUB" "$LAB_B_PUB"
	chose ea IPv4
	chose eb IPv4
	grep -q "going on over IPv4\|registering over IPv6 again" "$LAB_DIR/eb.log" ||
		t_fail "the listener did not say the IPv6 registration failed"
}

rdv_init || exit 1
t_run "dualstack ipv6: rendezvous (AAAA) and punching over IPv6 through two stateful firewalls" case_ipv6
t_run "dualstack both: both versions punched at once, one chosen" case_both
t_run "dualstack v6 broken: IPv6 dropped between the routers, IPv4 chosen in time" case_broken IPv6
t_run "dualstack v4 broken: IPv4 dropped between the routers, IPv6 chosen in time" case_broken IPv4
t_run "dualstack v4 server: a server on IPv4 only behind a name with both addresses" case_v4_server
t_summary
