#!/bin/bash
# shellcheck disable=SC2154  # PID_<name> is set with eval
# IPv6 end to end in direct mode, 16 MiB each way with hashes compared and
# both FINs seen on the wire (captures with lab_tcp_flags: libpcap's tcp[]
# does not index IPv6):
#   kernel:   on a link with 2001:db8::/64, a kernel client to our listen
#             (also with the veth offloads on: IPv6 checksums left to
#             offload), our --active connect to a kernel listener, the
#             kernel's simultaneous open against our connect with held
#             SYNs, p2ptcp to p2ptcp with --pcap (IPv6 headers made up
#             for both directions, tcpdump reads them);
#   firewall: through two stateful IPv6 firewalls (ip6tables with
#             conntrack, no NAT), the kernel's and p2ptcp's simultaneous
#             open against our connect: the firewalls open by it;
#   port:     a dual-stack listen owns the port in IPv6 too: nobody's
#             binds (the wildcard, dual-stack and IPV6_V6ONLY, the IPv6
#             address, with SO_REUSEADDR, SO_REUSEPORT) are refused, a
#             root p2ptcp on the port's IPv6 address is refused naming the
#             first, and so is nobody's setcap'd copy;
#   privs:    an IPv6 listen holds no capability after setup and serves.
# Ends with "netns: P passed, F failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))
PORT=5001
EXIT_SYSTEM=71
NONE=0000000000000000

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
	[ "$r" -eq 0 ] || t_fail "$r RSTs on the wire: $(tcpdump -nr "$1" "$(lab_tcp_flags 4 4)" 2>/dev/null | head -3)"
}

# ipv6_fins PCAP A B: FINs from both, and every segment of the capture IPv6.
ipv6_fins() {
	local f=$1 v4
	[ "$(lab_pcap_fins "$f" "$2")" -ge 1 ] || t_fail "no FIN from $2 in ${f##*/}"
	[ "$(lab_pcap_fins "$f" "$3")" -ge 1 ] || t_fail "no FIN from $3 in ${f##*/}"
	v4=$(lab_pcap_count "$f" ip)
	[ "$v4" -eq 0 ] || t_fail "$v4 IPv4 segments in ${f##*/}"
}

synack_from() { [ "$(lab_pcap_synacks "$1" "$2")" -ge 1 ]; }

# A kernel client connects over IPv6 to our dual-stack listen (no
# --local-addr: both families).
case_listen() {
	local f=$LAB_DIR/c.pcap
	t_need_p2ptcp || return
	lab_link6 || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$f" "$LAB_SYNFIN" || return 1
	eng_start ea "$LAB_A" $N 1 - listen --local-port $PORT
	wait_for 5 has_table "$LAB_A" || t_fail "no p2ptcp_ table while listening"
	sleep 0.2
	kp_start kb "$LAB_B" connect "[$LAB_A_IP6]:$PORT" --retry --send $N --seed 2
	finish ea kb
	sleep 0.2
	lab_capture_stop
	no_rst "$f"
	ipv6_fins "$f" "$LAB_A_IP6" "$LAB_B_IP6"
	grep -q "listening on \[::\]:$PORT" "$LAB_DIR/ea.log" || t_fail "no IPv6 listener in the log"
	grep -q "IPv4 and IPv6" "$LAB_DIR/ea.log" || t_fail "the firewall table is not for both families"
}

# Our plain three-way handshake to a kernel listener, over IPv6.
case_active() {
	local f=$LAB_DIR/c.pcap
	t_need_p2ptcp || return
	lab_link6 || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$f" "$LAB_SYNFIN" || return 1
	kp_start kb "$LAB_B" listen $PORT --bind :: --send $N --seed 2
	wait_for 5 listening "$LAB_B" $PORT || t_fail "kernel listener not up"
	eng_start ea "$LAB_A" $N 1 - connect --active --local-port 40001 --peer "[$LAB_B_IP6]:$PORT"
	finish ea kb
	sleep 0.2
	lab_capture_stop
	no_rst "$f"
	ipv6_fins "$f" "$LAB_A_IP6" "$LAB_B_IP6"
	[ "$(lab_pcap_synacks "$f" "$LAB_A_IP6")" -eq 0 ] || t_fail "p2ptcp --active sent a SYN-ACK"
	# the MSS of IPv6 on a 1500-byte link
	tcpdump -nr "$f" "src host $LAB_A_IP6" 2>/dev/null | grep -q "mss 1440" ||
		t_fail "our SYN did not offer MSS 1440"
}

# SYNs held on both sides until both were sent, the kernel's released
# first: the kernel's simultaneous open (RFC 9293 figure 8) over IPv6.
case_simopen() {
	local f=$LAB_DIR/c.pcap
	t_need_p2ptcp || return
	lab_link6 || return 1
	lab_hold "$LAB_A" syn && lab_hold "$LAB_B" syn || return 1
	lab_capture_start "$LAB_CAP_NS" "$LAB_CAP_IF" "$f" "$LAB_SYNFIN" || return 1
	kp_start kb "$LAB_B" simopen --bind "[$LAB_B_IP6]:40002" "[$LAB_A_IP6]:40001" --send $N --seed 2
	eng_start ea "$LAB_A" $N 1 - connect --local-port 40001 --local-addr "$LAB_A_IP6" \
		--peer "[$LAB_B_IP6]:40002" --punch-interval 100
	wait_for 10 lab_both_held "$LAB_A" "$LAB_B" ||
		t_fail "SYNs held: p2ptcp side $(lab_held "$LAB_A"), kernel side $(lab_held "$LAB_B")"
	lab_release "$LAB_B"
	wait_for 10 synack_from "$f" "$LAB_B_IP6" || t_fail "the kernel sent no SYN-ACK"
	lab_release "$LAB_A"
	finish ea kb
	sleep 0.2
	lab_capture_stop
	no_rst "$f"
	ipv6_fins "$f" "$LAB_A_IP6" "$LAB_B_IP6"
}

# p2ptcp to p2ptcp over IPv6, each with --pcap: the captures read back as
# IPv6 TCP in both directions.
case_engines() {
	local ra rb n
	t_need_p2ptcp || return
	lab_link6 || return 1
	eng_start ea "$LAB_A" $N 1 - connect --local-port 40001 --peer "[$LAB_B_IP6]:40002" \
		--pcap "$LAB_DIR/a.pcap"
	eng_start eb "$LAB_B" $N 2 - connect --local-port 40002 --peer "[$LAB_A_IP6]:40001" \
		--pcap "$LAB_DIR/b.pcap"
	peer_wait ea; ra=$?
	peer_wait eb; rb=$?
	expect_exit "p2ptcp A" $ra
	expect_exit "p2ptcp B" $rb
	expect_eng_data ea $N 2
	expect_eng_data eb $N 1
	ipv6_fins "$LAB_DIR/a.pcap" "$LAB_A_IP6" "$LAB_B_IP6"
	for n in "$LAB_A_IP6" "$LAB_B_IP6"; do
		[ "$(lab_pcap_count "$LAB_DIR/a.pcap" "ip6 and tcp and src host $n")" -gt 100 ] ||
			t_fail "few or no IPv6 segments from $n in A's --pcap"
	done
	expect_no_tables "$LAB_A"
	expect_no_tables "$LAB_B"
}

# Through two stateful IPv6 firewalls: unsolicited segments are dropped at
# each router; the crossing SYNs open both. who: kernel (kpeer simopen on
# B) or engine (p2ptcp on B).
case_firewall() {
	local who=$1 f=$LAB_DIR/c.pcap ra rb
	t_need_p2ptcp || return
	lab_two_nat drop || return 1
	lab_two_nat_ipv6 || return 1
	lab_capture_start "$LAB_INET" pa "$f" "$LAB_SYNFIN" || return 1
	if [ "$who" = kernel ]; then
		kp_start kb "$LAB_B" simopen --bind "[$LAB_B_IP6]:40002" "[$LAB_A_IP6]:40001" \
			--send $N --seed 2
	else
		eng_start eb "$LAB_B" $N 2 - connect --local-port 40002 --peer "[$LAB_A_IP6]:40001"
	fi
	# B's first SYNs reach firewall A before A's own opened it
	sleep 0.3
	eng_start ea "$LAB_A" $N 1 - connect --local-port 40001 --peer "[$LAB_B_IP6]:40002" \
		--punch-interval 200
	if [ "$who" = kernel ]; then
		finish ea kb
	else
		peer_wait ea; ra=$?
		peer_wait eb; rb=$?
		expect_exit "p2ptcp A" $ra
		expect_exit "p2ptcp B" $rb
		expect_eng_data ea $N 2
		expect_eng_data eb $N 1
	fi
	sleep 0.2
	lab_capture_stop
	ipv6_fins "$f" "$LAB_A_IP6" "$LAB_B_IP6"
	# the firewalls dropped what came before they were open
	[ "$(ip netns exec "$LAB_NA" ip6tables -vnL FORWARD | awk '/policy DROP/ { print $5 }')" != 0 ] ||
		t_fail "firewall A dropped nothing: were the SYNs unsolicited at all?"
}

# --- the port and privileges, over IPv6 -----------------------------------------

# victim_start: B listens on PORT on both families as root (no
# --local-addr) and waits.
victim_start() {
	lab_link6 || return 1
	nobody_dir || return 1
	install -m 755 "$KPEER" "$NB_DIR/kpeer"
	eng_start eb "$LAB_B" $N 2 - listen --local-port $PORT --timeout 60
	wait_for 5 has_table "$LAB_B" || { t_fail "p2ptcp listen did not start"; return 1; }
}

# victim_transfer: A's kernel connects over IPv6; 16 MiB each way.
victim_transfer() {
	local ra rb
	kp_start ka "$LAB_A" connect "[$LAB_B_IP6]:$PORT" --send $N --seed 1 --timeout 60
	peer_wait ka; ra=$?
	peer_wait eb; rb=$?
	expect_exit "kpeer connect" $ra
	expect_exit "p2ptcp listen" $rb
	expect_eng_data eb $N 1
	expect_kp_data ka $N 2
	expect_no_tables "$LAB_B"
}

# squat NAME KPEER-SQUAT-ARGS...: nobody's bind of the port must fail.
squat() {
	local name=$1
	shift
	echo "+ kpeer squat $PORT $*" >"$LAB_DIR/$name.err"
	ip netns exec "$LAB_B" "${NOBODY[@]}" "$NB_DIR/kpeer" squat $PORT "$@" --timeout 30 </dev/null \
		>"$LAB_DIR/$name.out" 2>>"$LAB_DIR/$name.err" &
	lab_track $!
	t_log "$LAB_DIR/$name.err"
	if ! wait_for 5 grep -qs '^squat' "$LAB_DIR/$name.out"; then
		t_fail "kpeer squat $* said nothing"
		return 1
	fi
	grep -q '^squat refused: Address already in use' "$LAB_DIR/$name.out" ||
		t_fail "nobody's squat $* was not refused: $(cat "$LAB_DIR/$name.out")"
}

case_squat() {
	t_need_p2ptcp || return
	victim_start || return 1
	squat s1 --bind :: --reuseaddr
	squat s2 --bind :: --v6only --reuseaddr --reuseport
	squat s3 --bind "$LAB_B_IP6" --reuseaddr
	squat s4 --bind "$LAB_B_IP6" --reuseport
	squat s5 --bind "$LAB_B_IP6" --v6only
	squat s6 --bind "$LAB_B_IP" --reuseaddr --reuseport
	victim_transfer
}

case_others() {
	local pid rc n
	t_need_p2ptcp || return
	victim_start || return 1
	eval "pid=\$PID_eb"
	# a second root p2ptcp on the port's IPv6 address: the lock is per
	# port, whatever the family
	t_log "$LAB_DIR/second.log"
	timeout 20 ip netns exec "$LAB_B" "$P2PTCP" listen --local-port $PORT --local-addr "$LAB_B_IP6" \
		--timeout 5 </dev/null >/dev/null 2>"$LAB_DIR/second.log"
	rc=$?
	expect_exit "a second root listen on IPv6" $rc $EXIT_SYSTEM
	[ "$(cat "$LAB_DIR/second.log")" = \
		"p2ptcp: local port $PORT is already served by another p2ptcp (pid $pid, uid 0)" ] ||
		t_fail "second listen said: $(cat "$LAB_DIR/second.log")"
	# nobody's setcap'd copy, on IPv6, listening and connecting
	nobody_p2ptcp || return 1
	for n in listen connect; do
		t_log "$LAB_DIR/$n.log"
		if [ $n = listen ]; then
			set -- listen --local-port $PORT --local-addr "$LAB_B_IP6" --timeout 5
		else
			set -- connect --local-port $PORT --peer "[$LAB_A_IP6]:5000" --timeout 5
		fi
		timeout 20 ip netns exec "$LAB_B" "${NOBODY[@]}" "$NB_DIR/p2ptcp" "$@" \
			--pcap "$NB_DIR/w/$n.pcap" </dev/null >/dev/null 2>"$LAB_DIR/$n.log"
		rc=$?
		expect_exit "nobody's copy: $n" $rc $EXIT_SYSTEM
		grep -qF "local port $PORT is already served by another p2ptcp (pid $pid, uid 0)" \
			"$LAB_DIR/$n.log" || t_fail "$n: no message naming the victim: $(cat "$LAB_DIR/$n.log")"
		[ ! -e "$NB_DIR/w/$n.pcap" ] || t_fail "the copy made its capture file $n.pcap"
	done
	victim_transfer
}

status_of() { sed -nE "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }
dropped() { grep -q "privileges: " "$LAB_DIR/$1.log" 2>/dev/null; }

case_privs() {
	local f got ra rb
	t_need_p2ptcp || return
	lab_link6 || return 1
	eng_start eb "$LAB_B" $N 2 - listen --local-port $PORT --local-addr "$LAB_B_IP6" --timeout 30
	wait_for 5 dropped eb || { t_fail "listen did not say it dropped its privileges"; return 1; }
	for f in CapEff CapPrm CapInh CapAmb CapBnd; do
		got=$(status_of "$PID_eb" $f)
		[ "$got" = $NONE ] || t_fail "listen on IPv6: $f is '$got', want '$NONE'"
	done
	got=$(status_of "$PID_eb" NoNewPrivs)
	[ "$got" = 1 ] || t_fail "listen on IPv6: NoNewPrivs is '$got'"
	kp_start ka "$LAB_A" connect "[$LAB_B_IP6]:$PORT" --send $N --seed 1
	peer_wait ka; ra=$?
	peer_wait eb; rb=$?
	expect_exit "kpeer connect" $ra
	expect_exit "p2ptcp listen" $rb
	expect_eng_data eb $N 1
	expect_kp_data ka $N 2
}

case_offload() {
	LAB_VETH_OFFLOAD=keep
	"$1"
}

t_init || exit 1
t_run "ipv6 link: a kernel client to our dual-stack listen, 16 MiB each way" case_listen
t_run "ipv6 link, veth offloads on: a kernel client to our listen" case_offload case_listen
t_run "ipv6 link: our --active connect to a kernel listener, MSS 1440" case_active
t_run "ipv6 link: kernel simultaneous open against our connect (held SYNs)" case_simopen
t_run "ipv6 link: p2ptcp to p2ptcp, both --pcap files IPv6" case_engines
t_run "ipv6 firewalls: kernel simultaneous open through two stateful firewalls" case_firewall kernel
t_run "ipv6 firewalls: p2ptcp to p2ptcp through two stateful firewalls" case_firewall engine
t_run "ipv6 port squat: nobody cannot bind the port of a dual-stack p2ptcp" case_squat
t_run "ipv6 port: a second p2ptcp on the port's IPv6 address is refused" case_others
t_run "ipv6 privs: an IPv6 listen holds no capability and serves" case_privs
t_summary
