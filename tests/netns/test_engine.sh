#!/bin/bash
# p2ptcp to p2ptcp, simultaneous open, 16 MiB each way with hashes
# compared: on one link (with held SYNs, so both engines are in SYN-SENT
# when the SYNs cross; and with agreed ISNs that wrap around 2^32 during the
# transfer), and through two NATs of both kinds. Then who sent the RST
# that resets a connection: the peer, or NAT B (its TTL differs).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))
SYNFIN='tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0'

finish() {
	local ra rb
	peer_wait ea; ra=$?
	peer_wait eb; rb=$?
	expect_exit "p2ptcp A" $ra
	expect_exit "p2ptcp B" $rb
	expect_eng_data ea "$N" 2
	expect_eng_data eb "$N" 1
	expect_no_tables "$LAB_A"
	expect_no_tables "$LAB_B"
}

start_pair() { # extra args for A, for B
	# shellcheck disable=SC2086
	eng_start ea "$LAB_A" $N 1 - connect --local-port 40001 --local-addr "$LAB_A_IP" \
		--peer "$LAB_B_PUB:40002" $1
	sleep "${PAIR_GAP:-0.3}"
	# shellcheck disable=SC2086
	eng_start eb "$LAB_B" $N 2 - connect --local-port 40002 --local-addr "$LAB_B_IP" \
		--peer "$LAB_A_PUB:40001" $2
}

# both engines in SYN-SENT before any SYN arrives; B released first: B
# gets a bare SYN in SYN-SENT (RFC 9293 figure 8)
case_link() {
	local f=$LAB_DIR/c.pcap isn_a=${1:-} isn_b=${2:-} xa="" xb=""
	t_need_p2ptcp || return
	lab_link || return 1
	if [ -n "$isn_a" ]; then
		xa="--isn $isn_a --peer-isn $isn_b"
		xb="--isn $isn_b --peer-isn $isn_a"
	fi
	lab_hold "$LAB_A" syn && lab_hold "$LAB_B" syn || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$f" "$SYNFIN" || return 1
	PAIR_GAP=0 start_pair "--punch-interval 100 $xa" "--punch-interval 100 $xb"
	wait_for 10 lab_both_held "$LAB_A" "$LAB_B" ||
		t_fail "SYNs held: A $(lab_held "$LAB_A"), B $(lab_held "$LAB_B")"
	lab_release "$LAB_B"
	wait_for 10 synack_from "$f" "$LAB_B_IP" || t_fail "B sent no SYN-ACK"
	lab_release "$LAB_A"
	finish
	sleep 0.2
	lab_capture_stop
	expect_no_rst "$f"
	if [ -n "$isn_a" ]; then
		# the SYNs carry exactly the agreed ISNs
		tcpdump -nr "$f" "src host $LAB_A_IP and tcp[tcpflags] & tcp-syn != 0" 2>/dev/null |
			grep -q "seq $isn_a," || t_fail "no SYN from A with seq $isn_a"
		tcpdump -nr "$f" "src host $LAB_B_IP and tcp[tcpflags] & tcp-syn != 0" 2>/dev/null |
			grep -q "seq $isn_b," || t_fail "no SYN from B with seq $isn_b"
	fi
}

synack_from() { [ "$(lab_pcap_synacks "$1" "$2")" -ge 1 ]; }

# Through both NATs. A starts 0.3 s after B, so B's first SYNs reach NAT A
# before A's own SYN opened it: dropped by one NAT kind, answered with a
# RST by the other, which the engines must survive (for the RST kind with
# a TTL 2 first SYN that opens their own NAT without reaching the other).
case_nat() {
	local variant=$1 x="--punch-interval 200" p
	t_need_p2ptcp || return
	lab_two_nat "$variant" || return 1
	[ "$variant" = rst ] && x="$x --first-syn-ttl 2"
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$LAB_DIR/c.pcap" "$SYNFIN" || return 1
	# B first, then A
	eng_start eb "$LAB_B" $N 2 - connect --local-port 40002 --local-addr "$LAB_B_IP" \
		--peer "$LAB_A_PUB:40001" $x
	sleep 0.3
	eng_start ea "$LAB_A" $N 1 - connect --local-port 40001 --local-addr "$LAB_A_IP" \
		--peer "$LAB_B_PUB:40002" $x
	finish
	lab_capture_stop
	# No RST, but a closing one from an end that sent its FIN twice: its
	# tail loss probe (2 SRTT, under a millisecond here) beat the peer's
	# late ACK, and the peer's D-SACK for the probe found it CLOSED
	# (expect_clean_end in lab.sh).
	[ "$variant" = drop ] && expect_clean_end "$LAB_DIR/c.pcap"
	p=$(lab_pcap_count "$LAB_DIR/c.pcap" net 10.0.0.0/8)
	[ "$p" -eq 0 ] || t_fail "$p segments with a private address reached the internet"
}

# Who reset us: the message tells a RST from the peer (its TTL is that of
# the peer's segments) from one a box on the path sent (NAT B's firewall
# rejecting A's segment with a RST of its own: a NAT that forgot the
# connection does the same). Both peers first move 16 MiB each way and
# then hold their FIN until told.
case_reset() { # peer | path
	local ra
	t_need_p2ptcp || return
	lab_two_nat drop || return 1
	eng_start eb "$LAB_B" $N 2 "$LAB_DIR/release_b" connect --local-port 40002 \
		--local-addr "$LAB_B_IP" --peer "$LAB_A_PUB:40001"
	eng_start ea "$LAB_A" $N 1 "$LAB_DIR/release_a" connect --local-port 40001 \
		--local-addr "$LAB_A_IP" --peer "$LAB_B_PUB:40002"
	wait_for 30 test -e "$LAB_DIR/ea.got" -a -e "$LAB_DIR/eb.got" ||
		{ t_fail "the data did not arrive"; touch "$LAB_DIR/release_a" "$LAB_DIR/release_b"; return 1; }
	if [ "$1" = peer ]; then
		# B aborts (SIGTERM: a RST from B itself)
		kill -TERM "$PID_eb"
	else
		# NAT B answers what A sends to B with a RST of its own
		ip netns exec "$LAB_NB" iptables -I FORWARD 1 -i wan0 -p tcp -j REJECT \
			--reject-with tcp-reset || return 1
		touch "$LAB_DIR/release_a"
	fi
	peer_wait ea 10; ra=$?
	expect_exit "p2ptcp A, reset" $ra 5
	if [ "$1" = peer ]; then
		grep -q "connection reset by the peer (its RST came as far as the peer's segments: IP TTL 61)" \
			"$LAB_DIR/ea.log" || t_fail "A did not say the peer reset it"
	else
		grep -q "connection reset, but not by the peer: the RST came with IP TTL 62 and the peer's segments with 61, so a box on the path sent it" \
			"$LAB_DIR/ea.log" || t_fail "A did not say a box on the path reset it"
		kill -TERM "$PID_eb"
	fi
	touch "$LAB_DIR/release_a" "$LAB_DIR/release_b"
	peer_wait eb 10 >/dev/null
	expect_no_tables "$LAB_A"
	return 0
}

t_init || exit 1
t_run "link: p2ptcp <-> p2ptcp simultaneous open, 16 MiB each way" case_link
t_run "link: agreed ISNs wrapping past 2^32 (--isn/--peer-isn), 16 MiB each way" \
	case_link 4294966000 4294960000
t_run "nat-drop: p2ptcp <-> p2ptcp through both NATs, 16 MiB each way" case_nat drop
t_run "nat-rst: p2ptcp <-> p2ptcp through both NATs (TTL 2 first SYN)" case_nat rst
t_run "reset by the peer: the message says so (the RST's TTL is the peer's)" case_reset peer
t_run "reset by NAT B: the message says a box on the path sent it (another TTL)" case_reset path
t_summary
