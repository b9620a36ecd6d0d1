#!/bin/bash
# TCP checksums on the raw socket (RFC 9293 MUST-3; docs/driver.md,
# "Checksum offload in namespaces"):
#   - forged: a SYN from another namespace whose checksum field holds only
#     the pseudo-header sum (what a local kernel's CHECKSUM_PARTIAL
#     segment carries, but sent through a raw socket, so no kernel marked
#     it) draws no SYN-ACK from our listen, nor does one with a wrong
#     checksum; a right one after them does (the listener was there).
#     IPv4 (the checksum tap vouches only for what the kernel marked) and
#     IPv6 (the kernel verifies, IPV6_CHECKSUM);
#   - offload: with the veth offloads on, the kernel's own segments come
#     with partial checksums (the capture shows them "incorrect") and a
#     kernel client still moves 4 MiB each way with our listen.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

RAWSYN=${RAWSYN:-$BUILD/tests/tools/rawsyn}
N=$((4 * MiB))

# link 4|6: the link topology; sets A, B and LISTEN_ADDR.
link() {
	if [ "$1" = 6 ]; then
		lab_link6 || return 1
		A=$LAB_A_IP6 B=$LAB_B_IP6 LISTEN_ADDR=()
	else
		lab_link || return 1
		A=$LAB_A_IP B=$LAB_B_IP LISTEN_ADDR=(--local-addr "$LAB_A_IP")
	fi
}

# syn KIND SPORT: what our listen answers to a SYN of that kind from B.
syn() { lab_exec "$LAB_B" "$RAWSYN" "$B" "$2" "$A" 5001 "$1" 1500; }

expect_reply() { # KIND SPORT WANT
	local got
	got=$(syn "$1" "$2")
	[ "$got" = "reply $3" ] || t_fail "$1 checksum: '$got', want 'reply $3'"
}

case_forged() {
	t_need_p2ptcp || return
	[ -x "$RAWSYN" ] || { t_fail "$RAWSYN is missing (make test-build)"; return 1; }
	link "$1" || return 1
	eng_start ea "$LAB_A" 0 0 - listen --local-port 5001 "${LISTEN_ADDR[@]}"
	wait_for 5 has_table "$LAB_A" || t_fail "no p2ptcp_ table while listening"
	sleep 0.2
	expect_reply partial 40001 none
	expect_reply bad 40002 none
	# the last: a one-peer listen may end with the peer it answers
	expect_reply good 40003 synack
}

case_offload() {
	local f=$LAB_DIR/c.pcap
	t_need_p2ptcp || return
	LAB_VETH_OFFLOAD=keep
	link "$1" || return 1
	lab_capture_start "$LAB_A" eth0 "$f" "$LAB_SYNFIN" || return 1
	eng_start ea "$LAB_A" $N 1 - listen --local-port 5001 "${LISTEN_ADDR[@]}"
	wait_for 5 has_table "$LAB_A" || t_fail "no p2ptcp_ table while listening"
	sleep 0.2
	kp_start kb "$LAB_B" connect "$([ "$1" = 6 ] && echo "[$A]" || echo "$A"):5001" --retry \
		--send $N --seed 2
	expect_kernel_pair ea kb $N
	sleep 0.2
	lab_capture_stop
	tcpdump -vvnr "$f" "src host $B" 2>/dev/null | grep -q "incorrect" ||
		t_fail "the kernel's segments came with full checksums: the case tests nothing"
}

t_init || exit 1
t_run "forged partial checksum: a SYN from another namespace draws nothing (IPv4)" case_forged 4
t_run "forged partial checksum: a SYN from another namespace draws nothing (IPv6)" case_forged 6
t_run "veth offloads on: the kernel's partial checksums taken, 4 MiB each way (IPv4)" case_offload 4
t_run "veth offloads on: the kernel's partial checksums taken, 4 MiB each way (IPv6)" case_offload 6
t_summary
