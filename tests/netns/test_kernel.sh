#!/bin/bash
# p2ptcp against the Linux kernel's TCP (tests/tools/kpeer), 16 MiB each way
# with hashes compared: the kernel's simultaneous open against our connect
# (on a link with held SYNs, and through both kinds of NAT), our --active
# connect to a kernel listener (on a link and from behind a NAT), and a
# kernel client connecting to our listen.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))
SYNFIN='tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0'

# the end of every case: both sides done, data intact, nothing left
finish() { # engine-name kernel-name
	local re rk
	peer_wait "$1"; re=$?
	peer_wait "$2"; rk=$?
	expect_exit "p2ptcp" $re
	expect_exit "kernel" $rk
	expect_eng_data "$1" "$N" 2
	expect_kp_data "$2" "$N" 1
	expect_no_tables "$LAB_A"
}

no_rst() { # pcap
	local r
	r=$(lab_pcap_rsts "$1")
	[ "$r" -eq 0 ] || t_fail "$r RSTs on the wire: $(tcpdump -nr "$1" 'tcp[tcpflags] & tcp-rst != 0' 2>/dev/null | head -3)"
}

# Link, SYNs held on both sides until both were sent; then the kernel's
# side is released first, so the kernel receives our SYN while in
# SYN-SENT and answers with a SYN-ACK: the kernel's simultaneous open.
case_simopen_link() {
	local f=$LAB_DIR/c.pcap
	t_need_p2ptcp || return
	lab_link || return 1
	lab_hold "$LAB_A" syn && lab_hold "$LAB_B" syn || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$f" "$SYNFIN" || return 1
	kp_start kb "$LAB_B" simopen --bind "$LAB_B_IP:40002" "$LAB_A_PUB:40001" --send $N --seed 2
	eng_start ea "$LAB_A" $N 1 - connect --local-port 40001 --local-addr "$LAB_A_IP" \
		--peer "$LAB_B_PUB:40002" --punch-interval 100
	wait_for 10 lab_both_held "$LAB_A" "$LAB_B" ||
		t_fail "SYNs held: p2ptcp side $(lab_held "$LAB_A"), kernel side $(lab_held "$LAB_B")"
	lab_release "$LAB_B"
	wait_for 10 synack_from "$f" "$LAB_B_IP" || t_fail "the kernel sent no SYN-ACK"
	lab_release "$LAB_A"
	finish ea kb
	sleep 0.2
	lab_capture_stop
	no_rst "$f"
}

synack_from() { [ "$(lab_pcap_synacks "$1" "$2")" -ge 1 ]; }

# Through both NATs: the kernel binds and connects to our NAT's address
# while we connect to its NAT's. With RST-answering NATs both sides send
# their first SYN with TTL 2 (it opens their own NAT, then expires).
case_simopen_nat() {
	local variant=$1 kx="" ex=""
	t_need_p2ptcp || return
	lab_two_nat "$variant" || return 1
	if [ "$variant" = rst ]; then
		kx="--ttl-first 2"
		ex="--first-syn-ttl 2"
		lab_drop_time_exceeded "$LAB_B"    # the kernel aborts on it
	fi
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$LAB_DIR/c.pcap" "$SYNFIN" || return 1
	# shellcheck disable=SC2086
	kp_start kb "$LAB_B" simopen --bind "$LAB_B_IP:40002" "$LAB_A_PUB:40001" --send $N --seed 2 $kx
	sleep 0.3
	# shellcheck disable=SC2086
	eng_start ea "$LAB_A" $N 1 - connect --local-port 40001 --local-addr "$LAB_A_IP" \
		--peer "$LAB_B_PUB:40002" --punch-interval 200 $ex
	finish ea kb
	lab_capture_stop
	[ "$variant" = drop ] && no_rst "$LAB_DIR/c.pcap"
	return 0
}

# Our plain three-way handshake to a kernel listener on the link.
case_active_link() {
	local f=$LAB_DIR/c.pcap
	t_need_p2ptcp || return
	lab_link || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$f" "$SYNFIN" || return 1
	kp_start kb "$LAB_B" listen 5001 --send $N --seed 2
	wait_for 5 listening "$LAB_B" 5001 || t_fail "kernel listener not up"
	eng_start ea "$LAB_A" $N 1 - connect --active --local-port 40001 --local-addr "$LAB_A_IP" \
		--peer "$LAB_B_PUB:5001"
	finish ea kb
	sleep 0.2
	lab_capture_stop
	no_rst "$f"
	[ "$(lab_pcap_synacks "$f" "$LAB_A_IP")" -eq 0 ] || t_fail "p2ptcp --active sent a SYN-ACK"
}

# Our --active connect from behind NAT A to a kernel listener on the
# internet (host S): the client behind a NAT.
case_active_nat() {
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	lab_capture_start "$LAB_INET" ps "$LAB_DIR/c.pcap" "$SYNFIN" || return 1
	kp_start kb "$LAB_S" listen 5001 --send $N --seed 2
	wait_for 5 listening "$LAB_S" 5001 || t_fail "kernel listener not up"
	eng_start ea "$LAB_A" $N 1 - connect --active --local-port 40001 --local-addr "$LAB_A_IP" \
		--peer "$LAB_S_IP:5001"
	finish ea kb
	sleep 0.2
	lab_capture_stop
	no_rst "$LAB_DIR/c.pcap"
}

# A kernel client connects to our listen.
case_listen_link() {
	local f=$LAB_DIR/c.pcap
	t_need_p2ptcp || return
	lab_link || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$f" "$SYNFIN" || return 1
	eng_start ea "$LAB_A" $N 1 - listen --local-port 5001 --local-addr "$LAB_A_IP"
	# listening once its table is there; the kernel retries if refused
	wait_for 5 has_table "$LAB_A" || t_fail "no p2ptcp_ table while listening"
	sleep 0.2
	kp_start kb "$LAB_B" connect "$LAB_A_PUB:5001" --retry --send $N --seed 2
	finish ea kb
	sleep 0.2
	lab_capture_stop
	no_rst "$f"
}

# The same with the veth offloads left on: the kernel's segments reach our
# raw socket with the checksum only partly computed (CHECKSUM_PARTIAL) and
# up to 64 KiB long (TSO), as from any kernel on the same machine.
case_offload() {
	LAB_VETH_OFFLOAD=keep
	"$1"
}

t_init || exit 1
t_run "link: kernel simultaneous open against our connect, 16 MiB each way" case_simopen_link
t_run "nat-drop: kernel simultaneous open against our connect, 16 MiB each way" case_simopen_nat drop
t_run "nat-rst: kernel simultaneous open against our connect (TTL 2 first SYNs)" case_simopen_nat rst
t_run "link: our --active connect to a kernel listener, 16 MiB each way" case_active_link
t_run "nat: our --active connect from behind a NAT to a kernel listener" case_active_nat
t_run "link: a kernel client to our listen, 16 MiB each way" case_listen_link
t_run "link, veth offloads on: our --active connect to a kernel listener" case_offload case_active_link
t_run "link, veth offloads on: a kernel client to our listen" case_offload case_listen_link
t_summary
