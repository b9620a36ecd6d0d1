#!/bin/bash
# The lab itself, with the Linux kernel on both ends (no p2ptcp needed):
# topologies, both NAT variants, loss, held FINs, captures and cleanup.
# If these fail, the engine tests cannot be trusted.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))

# a kernel transfer A <-> B: both send N, both check what arrived
kk_transfer() { # A-args B-args (each a string of kpeer arguments)
	# shellcheck disable=SC2086
	kp_start kb "$LAB_B" $2
	sleep 0.3
	# shellcheck disable=SC2086
	kp_start ka "$LAB_A" $1
	local ra rb
	peer_wait ka; ra=$?
	peer_wait kb; rb=$?
	expect_exit "kernel A" $ra
	expect_exit "kernel B" $rb
	expect_kp_data ka "$N" 2
	expect_kp_data kb "$N" 1
}

case_link() {
	lab_link || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$LAB_DIR/c.pcap" tcp || return 1
	kk_transfer "connect $LAB_B_PUB:5001 --send $N --seed 1" \
		"listen 5001 --send $N --seed 2"
	sleep 0.3
	lab_capture_stop
	local fa fb r big
	fa=$(lab_pcap_fins "$LAB_DIR/c.pcap" "$LAB_A_IP")
	fb=$(lab_pcap_fins "$LAB_DIR/c.pcap" "$LAB_B_IP")
	r=$(lab_pcap_rsts "$LAB_DIR/c.pcap")
	[ "$fa" -ge 1 ] && [ "$fb" -ge 1 ] || t_fail "FINs in the capture: A $fa, B $fb"
	[ "$r" -eq 0 ] || t_fail "$r RSTs in the capture"
	# wire-like segments: the veth offloads are off, nothing above the MSS
	big=$(tcpdump -n -r "$LAB_DIR/c.pcap" 2>/dev/null |
		sed -nE 's/.* length ([0-9]+).*/\1/p' | sort -n | tail -1)
	[ "${big:-0}" -le 1448 ] || t_fail "a segment of $big bytes on the link (offloads still on?)"
	[ "${big:-0}" -gt 1000 ] || t_fail "largest segment only ${big:-0} bytes: capture broken?"
}

# an unsolicited SYN from B to NAT A's outside address
case_unsolicited() {
	local variant=$1 rc r
	lab_two_nat "$variant" || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$LAB_DIR/c.pcap" tcp || return 1
	kp_start kb "$LAB_B" connect "$LAB_A_PUB:5001" --timeout 3
	peer_wait kb 10; rc=$?
	lab_capture_stop
	r=$(lab_pcap_rsts "$LAB_DIR/c.pcap" "$LAB_A_PUB")
	if [ "$variant" = drop ]; then
		[ $rc -eq 3 ] || t_fail "connect ended with status $rc, want a timeout (3)"
		[ "$r" -eq 0 ] || t_fail "NAT A sent $r RSTs, want none"
	else
		[ $rc -eq 1 ] && grep -q refused "$LAB_DIR/kb.err" ||
			t_fail "connect ended with status $rc, want 'refused'"
		[ "$r" -ge 1 ] || t_fail "NAT A sent no RST"
	fi
}

# kernel simultaneous open through both NATs
case_nat_simopen() {
	local variant=$1 extra="" p
	lab_two_nat "$variant" || return 1
	if [ "$variant" = rst ]; then
		# the RST-answering NAT needs the low-TTL first SYN; the
		# kernel would abort on the ICMP time-exceeded it causes
		extra="--ttl-first 2"
		lab_drop_time_exceeded "$LAB_A"
		lab_drop_time_exceeded "$LAB_B"
	fi
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$LAB_DIR/c.pcap" tcp || return 1
	kk_transfer "simopen --bind $LAB_A_IP:40001 $LAB_B_PUB:40002 --send $N --seed 1 $extra" \
		"simopen --bind $LAB_B_IP:40002 $LAB_A_PUB:40001 --send $N --seed 2 $extra"
	sleep 0.2
	lab_capture_stop
	# MASQUERADE: nothing private on the internet side
	p=$(lab_pcap_count "$LAB_DIR/c.pcap" net 10.0.0.0/8)
	[ "$p" -eq 0 ] || t_fail "$p packets with a private address on the internet side"
	p=$(lab_pcap_rsts "$LAB_DIR/c.pcap")
	[ "$variant" = drop ] && [ "$p" -ne 0 ] && t_fail "$p RSTs with the dropping NAT"
	p=$(lab_pcap_count "$LAB_DIR/c.pcap" "src host $LAB_A_PUB and src port 40001")
	[ "$p" -gt 100 ] || t_fail "only $p packets from $LAB_A_PUB:40001: port not kept by the NAT?"
}

case_loss() {
	local p c
	lab_two_nat drop || return 1
	lab_loss "$LAB_NA" lan0 "$1"
	lab_loss "$LAB_NA" wan0 "$1"
	kk_transfer "simopen --bind $LAB_A_IP:40001 $LAB_B_PUB:40002 --send $N --seed 1" \
		"simopen --bind $LAB_B_IP:40002 $LAB_A_PUB:40001 --send $N --seed 2"
	for c in lan0 wan0; do
		p=$(lab_exec "$LAB_NA" iptables -nvx -L FORWARD | awk -v i="$c" '$3 == "DROP" && $6 == i && /statistic/ { print $1 }')
		[ "${p:-0}" -gt 0 ] || t_fail "no packet dropped on $c: the loss rule is not working"
	done
}

# held FINs: both kernels close before either FIN arrives
case_simclose() {
	local n=$((1 * MiB)) ra rb ta tb
	N=$n
	lab_link || return 1
	lab_hold "$LAB_A" fin || return 1
	lab_hold "$LAB_B" fin || return 1
	kp_start kb "$LAB_B" listen 5001 --send $n --seed 2
	sleep 0.2
	kp_start ka "$LAB_A" connect "$LAB_B_PUB:5001" --send $n --seed 1
	if ! wait_for 10 lab_both_held "$LAB_A" "$LAB_B"; then
		t_fail "FINs held: A $(lab_held "$LAB_A"), B $(lab_held "$LAB_B")"
	fi
	lab_release "$LAB_A"
	lab_release "$LAB_B"
	peer_wait ka 20; ra=$?
	peer_wait kb 20; rb=$?
	expect_exit "kernel A" $ra
	expect_exit "kernel B" $rb
	expect_kp_data ka $n 2
	expect_kp_data kb $n 1
	# a simultaneous close leaves both ends in TIME-WAIT (RFC 9293
	# figure 13); an ordinary one only the end that closed first
	ta=$(lab_exec "$LAB_A" ss -Htan state time-wait | wc -l)
	tb=$(lab_exec "$LAB_B" ss -Htan state time-wait | wc -l)
	[ "$ta" -eq 1 ] && [ "$tb" -eq 1 ] || t_fail "TIME-WAIT sockets: A $ta, B $tb, want 1 and 1"
}

# held SYNs: both kernels are in SYN-SENT before any SYN arrives; B is
# released first, so B receives A's SYN in SYN-SENT and answers with a
# SYN-ACK (RFC 9293 figure 8), which reaches A while A's hold (bare SYNs
# only) is still in place
case_simopen_held() {
	local f=$LAB_DIR/c.pcap ra rb
	N=$MiB
	lab_link || return 1
	lab_hold "$LAB_A" syn && lab_hold "$LAB_B" syn || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$f" 'tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0' || return 1
	kp_start kb "$LAB_B" simopen --bind "$LAB_B_IP:40002" "$LAB_A_PUB:40001" --send $N --seed 2
	kp_start ka "$LAB_A" simopen --bind "$LAB_A_IP:40001" "$LAB_B_PUB:40002" --send $N --seed 1
	wait_for 10 lab_both_held "$LAB_A" "$LAB_B" ||
		t_fail "SYNs held: A $(lab_held "$LAB_A"), B $(lab_held "$LAB_B")"
	lab_release "$LAB_B"
	wait_for 10 synack_from "$f" "$LAB_B_IP" || t_fail "B sent no SYN-ACK"
	lab_release "$LAB_A"
	peer_wait ka; ra=$?
	peer_wait kb; rb=$?
	expect_exit "kernel A" $ra
	expect_exit "kernel B" $rb
	expect_kp_data ka $N 2
	expect_kp_data kb $N 1
	lab_capture_stop
}

synack_from() { [ "$(lab_pcap_synacks "$1" "$2")" -ge 1 ]; }

# the ordinary close for contrast: only the first closer is in TIME-WAIT
case_close_order() {
	local n=$MiB ra rb ta tb
	lab_link || return 1
	kp_start kb "$LAB_B" listen 5001 --send $n --seed 2 --close-after-peer
	sleep 0.2
	kp_start ka "$LAB_A" connect "$LAB_B_PUB:5001" --send $n --seed 1 --close-first
	peer_wait ka; ra=$?
	peer_wait kb; rb=$?
	expect_exit "kernel A" $ra
	expect_exit "kernel B" $rb
	ta=$(lab_exec "$LAB_A" ss -Htan state time-wait | wc -l)
	tb=$(lab_exec "$LAB_B" ss -Htan state time-wait | wc -l)
	[ "$ta" -eq 1 ] && [ "$tb" -eq 0 ] || t_fail "TIME-WAIT sockets: A $ta, B $tb, want 1 and 0"
}

# the lab removes everything when its user is interrupted
case_cleanup() {
	local sig=$1 pfx="ptcp$$x$1" pid left
	env --default-signal=INT bash -c '
		cd "$1" && . tests/netns/lab.sh && LAB_PREFIX=$2 &&
		lab_init && lab_two_nat drop with_s && lab_hold "$LAB_A" fin &&
		touch "$3/ready" && { sleep 30 & wait $!; }' _ "$PWD" "$pfx" "$LAB_DIR" \
		>"$LAB_DIR/child.log" 2>&1 &
	pid=$!
	lab_track $pid
	t_log "$LAB_DIR/child.log"
	wait_for 10 test -e "$LAB_DIR/ready" || { t_fail "child lab did not come up"; return; }
	[ "$(ip netns list | grep -c "^$pfx-")" -eq 6 ] || t_fail "child lab has not 6 namespaces"
	kill "-$sig" $pid
	lab_wait_pid $pid 10
	left=$(ip netns list | grep -c "^$pfx-")
	[ "$left" -eq 0 ] || { t_fail "$left namespaces left after SIG$sig"; ip netns list | grep "^$pfx-" |
		awk '{print $1}' | xargs -r -n1 ip netns del; }
	[ -e "$LAB_DIR/ready" ] && ! ls -d /tmp/"$pfx".* >/dev/null 2>&1 ||
		t_fail "scratch directory left after SIG$sig"
}

# expect_clean_end's filter on tcpdump lines: the races of a closing TCP
# it explains pass, a RST past the FIN's acknowledgment, before both FINs,
# or from an end whose peer sent no FIN does not. The first three lines are
# a failed `service ssh` run's (the TIME-WAIT end answered a reordered
# older ACK with a second ACK of the FIN, which found B closed).
case_clean_end_filter() {
	local fa fb r got
	fa='13:20:28.895540 IP 203.0.113.1.47783 > 203.0.113.2.40063: Flags [FP.], seq 4125810060:4125810174, ack 2926903758, win 32758, length 114'
	fb='13:20:28.896377 IP 203.0.113.2.40063 > 203.0.113.1.47783: Flags [FP.], seq 2926903758:2926903785, ack 4125810175, win 2046, length 27'
	r='13:20:28.923546 IP 203.0.113.2.40063 > 203.0.113.1.47783: Flags [R], seq %s, win 0, length 0'
	got=$(printf '%s\n%s\n'"$r"'\n' "$fa" "$fb" 2926903786 | lab_unexplained_rsts)
	[ -z "$got" ] || t_fail "a RST at one past B's FIN is not explained: $got"
	got=$(printf '%s\n%s\n'"$r"'\n' "$fa" "$fb" 2926903700 | lab_unexplained_rsts)
	[ -z "$got" ] || t_fail "a RST answering an ACK sent before B's FIN is not explained: $got"
	got=$(printf '%s\n%s\n'"$r"'\n' "$fa" "$fb" 2926903787 | lab_unexplained_rsts)
	[ -n "$got" ] || t_fail "a RST at two past B's FIN is explained"
	got=$(printf "$r"'\n%s\n%s\n' 2926903786 "$fa" "$fb" | lab_unexplained_rsts)
	[ -n "$got" ] || t_fail "a RST before both FINs is explained"
	got=$(printf '%s\n'"$r"'\n' "$fb" 2926903786 | lab_unexplained_rsts)
	[ -n "$got" ] || t_fail "a RST from B, whose peer sent no FIN, is explained"
	# a FIN sent twice: that end's RST is the first race
	got=$(printf '%s\n%s\n%s\n'"$r"'\n' "$fa" "$fb" "$fb" 2926903999 | lab_unexplained_rsts)
	[ -z "$got" ] || t_fail "a RST from an end that sent its FIN twice is not explained: $got"
}

# kpeer's bench options: --copy-to FD writes every byte that arrives to
# FD as well (the same bytes, in order), --stats adds the sender's "tcp"
# line from TCP_INFO; an FD that is not open is refused.
case_kpeer_copy() {
	local want got rc
	lab_link || return 1
	echo "+ kpeer listen 5001 --stats --copy-to 3" >"$LAB_DIR/kb.err"
	ip netns exec "$LAB_B" "$KPEER" listen 5001 --stats --timeout 30 --copy-to 3 \
		3>"$LAB_DIR/copy.bin" >"$LAB_DIR/kb.out" 2>>"$LAB_DIR/kb.err" </dev/null &
	PID_kb=$!
	lab_track $PID_kb
	t_log "$LAB_DIR/kb.err"
	kp_start ka "$LAB_A" connect "$LAB_B_PUB:5001" --retry --send "$N" --seed 3 --stats
	peer_wait ka; rc=$?
	expect_exit "kernel A" $rc
	peer_wait kb; rc=$?
	expect_exit "kernel B" $rc
	expect_kp_data kb "$N" 3
	want=$(sum "$N" 3)
	got=$("$KPEER" hash <"$LAB_DIR/copy.bin")
	[ "$got" = "$want" ] || t_fail "--copy-to wrote '$got', want '$want'"
	grep -Eq '^tcp busy_us=[0-9]+ rwnd_limited_us=[0-9]+ sndbuf_limited_us=[0-9]+ segs_in=[1-9][0-9]* data_segs_out=[1-9]' \
		"$LAB_DIR/ka.out" || t_fail "no tcp line from the sender: $(grep '^tcp' "$LAB_DIR/ka.out")"
	ip netns exec "$LAB_B" "$KPEER" listen 5002 --copy-to 9 --timeout 1 \
		>/dev/null 2>"$LAB_DIR/bad.err" </dev/null; rc=$?
	[ $rc -eq 2 ] && grep -qF "'9'" "$LAB_DIR/bad.err" ||
		t_fail "--copy-to 9 (not open): status $rc, '$(cat "$LAB_DIR/bad.err")'"
}

case_bridge() {
	LAB_INTERNET=bridge
	case_nat_simopen drop
}

t_init || exit 1
t_run "link: kernel <-> kernel, 16 MiB each way, FINs, no RST, wire-sized segments" case_link
t_run "nat-drop: an unsolicited SYN is dropped silently" case_unsolicited drop
t_run "nat-rst: an unsolicited SYN is answered with a RST" case_unsolicited rst
t_run "nat-drop: kernel simultaneous open through both NATs, 16 MiB each way" case_nat_simopen drop
t_run "nat-rst: kernel simultaneous open (low-TTL first SYN), 16 MiB each way" case_nat_simopen rst
t_run "nat-drop, bridged internet: kernel simultaneous open" case_bridge
t_run "nat-drop: 5% loss both ways, kernel, 16 MiB each way intact" case_loss 0.05
t_run "link: held SYNs make a simultaneous open (SYN-ACK after both SYNs)" case_simopen_held
t_run "link: ordinary close, only the first closer in TIME-WAIT" case_close_order
t_run "link: held FINs make a simultaneous close (both in TIME-WAIT)" case_simclose
t_run "lab: kpeer --copy-to writes what arrives, --stats prints the sender's tcp line" case_kpeer_copy
t_run "lab: expect_clean_end explains a closing TCP's races and nothing else" case_clean_end_filter
t_run "lab: SIGTERM removes every namespace" case_cleanup TERM
t_run "lab: SIGINT removes every namespace" case_cleanup INT
t_summary
