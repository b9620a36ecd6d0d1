#!/bin/bash
# Every close order between p2ptcp and the Linux kernel, 16 MiB each way:
# we close first, the kernel closes first, both at once (FINs held on both
# sides until both were sent, so they cross: the kernel's is let through
# first, so that we hold its FIN while ours is unacknowledged). A capture on the link must
# show a FIN from each side and no RST from anyone; the kernel's socket
# must end where RFC 9293 says (TIME-WAIT only for an end that closed
# first or simultaneously); --pcap must write a file tcpdump reads, of
# mode 0600.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))
SYNFIN='tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0'

# engine A (--active) to a kernel listener on B; $1: kpeer close option,
# $2: the engine's stdin hold file or "-"
start() {
	kp_start kb "$LAB_B" listen 5001 --send $N --seed 2 "$1"
	wait_for 5 listening "$LAB_B" 5001 || t_fail "kernel listener not up"
	eng_start ea "$LAB_A" $N 1 "$2" connect --active --local-port 40001 \
		--local-addr "$LAB_A_IP" --peer "$LAB_B_PUB:5001" --pcap "$LAB_DIR/engine.pcap"
}

finish() {
	local re rk
	peer_wait ea; re=$?
	peer_wait kb; rk=$?
	expect_exit "p2ptcp" $re
	expect_exit "kernel" $rk
	expect_eng_data ea "$N" 2
	expect_kp_data kb "$N" 1
	expect_no_tables "$LAB_A"
	# late segments (a retransmitted FIN, a last ACK) would draw a RST
	# from a kernel now that the table is gone: give them time
	sleep 0.5
	lab_capture_stop
}

# common checks; $1: who must send the first FIN (A, B or "-")
check_wire() {
	local f=$LAB_DIR/c.pcap fa fb first
	fa=$(lab_pcap_fins "$f" "$LAB_A_IP")
	fb=$(lab_pcap_fins "$f" "$LAB_B_IP")
	[ "$fa" -ge 1 ] || t_fail "no FIN from p2ptcp on the wire"
	[ "$fb" -ge 1 ] || t_fail "no FIN from the kernel on the wire"
	expect_clean_end "$f"
	first=$(lab_pcap_first_fin "$f")
	case $1 in
	A) [ "$first" = "$LAB_A_IP" ] || t_fail "first FIN from $first, want p2ptcp ($LAB_A_IP)" ;;
	B) [ "$first" = "$LAB_B_IP" ] || t_fail "first FIN from $first, want the kernel ($LAB_B_IP)" ;;
	esac
}

# the kernel's connection socket: how many in STATE
kstate() { lab_exec "$LAB_B" ss -Htan state "$1" '( sport = :5001 )' | wc -l; }

# the engine's -v log shows this transition
expect_transition() {
	grep -q "state $1 -> $2" "$LAB_DIR/ea.log" || t_fail "p2ptcp never went $1 -> $2"
}

case_we_first() {
	local p f
	t_need_p2ptcp || return
	lab_link || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$LAB_DIR/c.pcap" "$SYNFIN" || return 1
	# the kernel sends its FIN only after ours arrived
	start --close-after-peer -
	finish
	check_wire A
	expect_transition ESTABLISHED FIN-WAIT-1
	# passive close on the kernel's side: LAST-ACK, then gone (no TIME-WAIT)
	[ "$(kstate last-ack)" -eq 0 ] || t_fail "kernel still in LAST-ACK: our last ACK missing"
	[ "$(kstate time-wait)" -eq 0 ] || t_fail "kernel in TIME-WAIT after a passive close"
	# --pcap: a file tcpdump reads, with the handshake, both FINs, the data
	f=$LAB_DIR/engine.pcap
	[ -s "$f" ] || { t_fail "--pcap wrote nothing"; return; }
	# it holds the payloads: only for us, whatever the umask (022 here)
	[ "$(stat -c %a "$f")" = 600 ] || t_fail "--pcap file has mode $(stat -c %a "$f"), want 600"
	p=$(lab_pcap_count "$f")
	[ "$p" -ge 11000 ] || t_fail "--pcap file has $p segments, want at least 11000 for 32 MiB"
	[ "$(lab_pcap_fins "$f")" -ge 2 ] || t_fail "--pcap file lacks the two FINs"
	[ "$(lab_pcap_count "$f" 'tcp[tcpflags] & tcp-syn != 0')" -ge 2 ] ||
		t_fail "--pcap file lacks the SYN and SYN-ACK"
}

kernel_fin_seen() {
	[ -e "$LAB_DIR/ea.got" ] && [ "$(lab_pcap_fins "$LAB_DIR/c.pcap" "$LAB_B_IP")" -ge 1 ]
}

case_kernel_first() {
	t_need_p2ptcp || return
	lab_link || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$LAB_DIR/c.pcap" "$SYNFIN" || return 1
	# our stdin stays open until the kernel's FIN was on the wire
	start --close-first "$LAB_DIR/release"
	wait_for "$T_XFER_LIMIT" kernel_fin_seen || t_fail "no FIN from the kernel while we held ours"
	sleep 0.2
	touch "$LAB_DIR/release"
	finish
	check_wire B
	expect_transition ESTABLISHED CLOSE-WAIT
	expect_transition CLOSE-WAIT LAST-ACK
	[ "$(kstate time-wait)" -eq 1 ] || t_fail "kernel not in TIME-WAIT after closing first"
}

case_both() {
	t_need_p2ptcp || return
	lab_link || return 1
	lab_hold "$LAB_A" fin && lab_hold "$LAB_B" fin || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$LAB_DIR/c.pcap" "$SYNFIN" || return 1
	start --close-first -
	wait_for "$T_XFER_LIMIT" lab_both_held "$LAB_A" "$LAB_B" ||
		t_fail "FINs held: at p2ptcp $(lab_held "$LAB_A"), at the kernel $(lab_held "$LAB_B")"
	# Both FINs are out and neither arrived. Which retransmission gets
	# through first after a release is a race of two RTO timers, so the
	# kernel's FIN is let through first, and ours once we have it: we
	# then hold a FIN of the peer's while ours is unacknowledged, the
	# simultaneous close of RFC 9293 figure 13, every time.
	lab_release "$LAB_A"
	wait_for 10 grep -q "state FIN-WAIT-1 -> CLOSING" "$LAB_DIR/ea.log"
	lab_release "$LAB_B"
	finish
	check_wire -
	expect_transition FIN-WAIT-1 CLOSING
	expect_transition CLOSING TIME-WAIT
	# the kernel got our FIN after our ACK of its own: FIN-WAIT-2 -> TIME-WAIT
	[ "$(kstate time-wait)" -eq 1 ] || t_fail "kernel not in TIME-WAIT after closing"
}

t_init || exit 1
t_run "close: we close first (FIN exchange, no RST, --pcap readable)" case_we_first
t_run "close: the kernel closes first (FIN exchange, no RST)" case_kernel_first
t_run "close: both at once, FINs crossing (FIN exchange, no RST)" case_both
t_summary
