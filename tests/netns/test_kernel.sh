#!/bin/bash
# p2ptcp against the Linux kernel's TCP (tests/tools/kpeer), 16 MiB each way
# with hashes compared: the kernel's simultaneous open against our connect
# (on a link with held SYNs, and through both kinds of NAT), our --active
# connect to a kernel listener (on a link and from behind a NAT), and a
# kernel client connecting to our listen. The link cases run over IPv4
# and over IPv6 (2001:db8::/64; our listen then takes both versions, and
# our SYN offers IPv6's MSS, 1440).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))
SYNFIN=$LAB_SYNFIN

# the end of every case: both sides done, data intact, nothing left
finish() { # engine-name kernel-name
	expect_kernel_pair "$1" "$2" "$N"
	expect_no_tables "$LAB_A"
}

# link 4|6: the link topology of that IP version; sets A and B (the
# addresses), AP and BP (them as written before :PORT) and LISTEN_ADDR
# (our listen's --local-addr: none for IPv6, where it takes both).
link() {
	if [ "$1" = 6 ]; then
		lab_link6 || return 1
		A=$LAB_A_IP6 B=$LAB_B_IP6 AP="[$LAB_A_IP6]" BP="[$LAB_B_IP6]" LISTEN_ADDR=()
	else
		lab_link || return 1
		A=$LAB_A_IP B=$LAB_B_IP AP=$LAB_A_PUB BP=$LAB_B_PUB LISTEN_ADDR=(--local-addr "$LAB_A_IP")
	fi
}

# fins_both PCAP: FINs from both ends of the link.
fins_both() {
	[ "$(lab_pcap_fins "$1" "$A")" -ge 1 ] || t_fail "no FIN from $A"
	[ "$(lab_pcap_fins "$1" "$B")" -ge 1 ] || t_fail "no FIN from $B"
}

# Link, SYNs held on both sides until both were sent; then the kernel's
# side is released first, so the kernel receives our SYN while in
# SYN-SENT and answers with a SYN-ACK: the kernel's simultaneous open.
case_simopen_link() {
	local f=$LAB_DIR/c.pcap
	t_need_p2ptcp || return
	link "$1" || return 1
	lab_hold "$LAB_A" syn && lab_hold "$LAB_B" syn || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$f" "$SYNFIN" || return 1
	kp_start kb "$LAB_B" simopen --bind "$BP:40002" "$AP:40001" --send $N --seed 2
	eng_start ea "$LAB_A" $N 1 - connect --local-port 40001 --local-addr "$A" \
		--peer "$BP:40002" --punch-interval 100
	wait_for 10 lab_both_held "$LAB_A" "$LAB_B" ||
		t_fail "SYNs held: p2ptcp side $(lab_held "$LAB_A"), kernel side $(lab_held "$LAB_B")"
	lab_release "$LAB_B"
	wait_for 10 synack_from "$f" "$B" || t_fail "the kernel sent no SYN-ACK"
	lab_release "$LAB_A"
	finish ea kb
	sleep 0.2
	lab_capture_stop
	expect_clean_end "$f"
	fins_both "$f"
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
	[ "$variant" = drop ] && expect_clean_end "$LAB_DIR/c.pcap"
	return 0
}

# Our plain three-way handshake to a kernel listener on the link.
case_active_link() {
	local f=$LAB_DIR/c.pcap mss=1460
	t_need_p2ptcp || return
	link "$1" || return 1
	[ "$1" = 6 ] && mss=1440
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$f" "$SYNFIN" || return 1
	kp_start kb "$LAB_B" listen 5001 --bind "$B" --send $N --seed 2
	wait_for 5 listening "$LAB_B" 5001 || t_fail "kernel listener not up"
	eng_start ea "$LAB_A" $N 1 - connect --active --local-port 40001 --local-addr "$A" \
		--peer "$BP:5001"
	finish ea kb
	sleep 0.2
	lab_capture_stop
	expect_clean_end "$f"
	fins_both "$f"
	[ "$(lab_pcap_synacks "$f" "$A")" -eq 0 ] || t_fail "p2ptcp --active sent a SYN-ACK"
	tcpdump -nr "$f" "src host $A" 2>/dev/null | grep -q "mss $mss," ||
		t_fail "our SYN did not offer MSS $mss"
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
	expect_clean_end "$LAB_DIR/c.pcap"
}

# A kernel client connects to our listen.
case_listen_link() {
	local f=$LAB_DIR/c.pcap
	t_need_p2ptcp || return
	link "$1" || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$f" "$SYNFIN" || return 1
	eng_start ea "$LAB_A" $N 1 - listen --local-port 5001 "${LISTEN_ADDR[@]}"
	# listening once its table is there; the kernel retries if refused
	wait_for 5 has_table "$LAB_A" || t_fail "no p2ptcp_ table while listening"
	sleep 0.2
	kp_start kb "$LAB_B" connect "$AP:5001" --retry --send $N --seed 2
	finish ea kb
	sleep 0.2
	lab_capture_stop
	expect_clean_end "$f"
	fins_both "$f"
	if [ "$1" = 6 ]; then
		grep -q "listening on \[::\]:5001" "$LAB_DIR/ea.log" || t_fail "no IPv6 listener in the log"
		grep -q "(IPv4 and IPv6)" "$LAB_DIR/ea.log" || t_fail "the firewall table is not for both versions"
	fi
}

# The same with the veth offloads left on: the kernel's segments reach our
# raw socket with the checksum only partly computed (CHECKSUM_PARTIAL) and
# up to 64 KiB long (TSO), as from any kernel on the same machine.
case_offload() {
	LAB_VETH_OFFLOAD=keep
	"$@"
}

t_init || exit 1
t_run "link: kernel simultaneous open against our connect, 16 MiB each way" case_simopen_link 4
t_run "nat-drop: kernel simultaneous open against our connect, 16 MiB each way" case_simopen_nat drop
t_run "nat-rst: kernel simultaneous open against our connect (TTL 2 first SYNs)" case_simopen_nat rst
t_run "link: our --active connect to a kernel listener, 16 MiB each way" case_active_link 4
t_run "nat: our --active connect from behind a NAT to a kernel listener" case_active_nat
t_run "link: a kernel client to our listen, 16 MiB each way" case_listen_link 4
t_run "link, veth offloads on: our --active connect to a kernel listener" case_offload case_active_link 4
t_run "link, veth offloads on: a kernel client to our listen" case_offload case_listen_link 4
t_run "ipv6 link: kernel simultaneous open against our connect (held SYNs)" case_simopen_link 6
t_run "ipv6 link: our --active connect to a kernel listener, MSS 1440" case_active_link 6
t_run "ipv6 link: a kernel client to our dual-stack listen" case_listen_link 6
t_run "ipv6 link, veth offloads on: a kernel client to our listen" case_offload case_listen_link 6
t_summary
