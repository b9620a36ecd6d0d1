#!/bin/bash
# The local port belongs to one p2ptcp alone. B runs `p2ptcp listen` as
# root on port 5001 of the lab's link; while it waits, others try to take
# the port; then a kernel client on A sends 16 MiB each way and both
# sides' bytes are compared:
#   squat:   an unprivileged user (nobody) binds and listens on the port,
#            with SO_REUSEADDR, SO_REUSEPORT, both, on B's address and on
#            the wildcard: every bind is refused (EADDRINUSE);
#   setcap:  nobody with a setcap'd copy of p2ptcp (cap_net_raw,
#            cap_net_admin+ep) cannot start on the port (listen or
#            connect), and its --pcap file is never made;
#   root:    a second root p2ptcp on the port is refused with a message
#            that names the first one's pid; one in another namespace on
#            the same port is not.
# Each again over IPv6 (2001:db8::/64): B listens on both versions (no
# --local-addr), nobody's binds of the wildcard (dual-stack and
# IPV6_V6ONLY), of B's IPv6 address and of its IPv4 one are all refused;
# the copy and the second root p2ptcp are refused on the port's IPv6
# address (one lock per port, whatever the version); A's kernel connects
# over IPv6.
# Ends with "netns: P passed, F failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))
PORT=5001
EXIT_SYSTEM=71

# victim_start 4|6: B listens on PORT as root and waits (its table is
# up): on its IPv4 address, or (6) on both versions. Sets A and B (the
# addresses of that version) and AP and BP (them as written before
# :PORT).
victim_start() {
	if [ "$1" = 6 ]; then
		lab_link6 || return 1
		A=$LAB_A_IP6 B=$LAB_B_IP6 AP="[$LAB_A_IP6]" BP="[$LAB_B_IP6]"
		set --
	else
		lab_link || return 1
		A=$LAB_A_IP B=$LAB_B_IP AP=$LAB_A_IP BP=$LAB_B_IP
		set -- --local-addr "$LAB_B_IP"
	fi
	nobody_dir || return 1
	install -m 755 "$KPEER" "$NB_DIR/kpeer"
	eng_start eb "$LAB_B" $N 2 - listen --local-port $PORT "$@" --timeout 60
	wait_for 5 has_table "$LAB_B" || { t_fail "p2ptcp listen did not start"; return 1; }
}

# victim_transfer: A's kernel connects; 16 MiB each way arrive intact.
victim_transfer() {
	kp_start ka "$LAB_A" connect "$BP:$PORT" --send $N --seed 1 --timeout 60
	expect_kernel_pair eb ka $N 2
	expect_no_tables "$LAB_B"
}

# squat NAME KPEER-SQUAT-ARGS...: nobody's `kpeer squat PORT ARGS` on B.
squat() {
	local name=$1
	shift
	nobody_squat "$name" "$LAB_B" $PORT "$@"
}

case_squat() {
	t_need_p2ptcp || return
	victim_start "$1" || return 1
	if [ "$1" = 6 ]; then
		squat s1 --bind :: --reuseaddr
		squat s2 --bind :: --v6only --reuseaddr --reuseport
		squat s3 --bind "$B" --reuseaddr
		squat s4 --bind "$B" --reuseport
		squat s5 --bind "$B" --v6only
		squat s6 --bind "$LAB_B_IP" --reuseaddr --reuseport
	else
		squat s1 --bind "$B" --reuseaddr
		squat s2 --reuseaddr
		squat s3 --bind "$B" --reuseport
		squat s4 --reuseaddr --reuseport
		squat s5 --bind "$B"
	fi
	victim_transfer
}

# run_nobody NAME WANT-STATUS P2PTCP-COPY-ARGS...: the setcap'd copy as
# nobody on B, bounded.
run_nobody() {
	local name=$1 want=$2 rc
	shift 2
	t_log "$LAB_DIR/$name.log"
	timeout 20 ip netns exec "$LAB_B" "${NOBODY[@]}" "$NB_DIR/p2ptcp" "$@" </dev/null >/dev/null 2>"$LAB_DIR/$name.log"
	rc=$?
	expect_exit "$name" $rc "$want"
}

case_setcap() {
	local pid
	t_need_p2ptcp || return
	victim_start "$1" || return 1
	eval "pid=\$PID_eb"
	nobody_p2ptcp || return 1
	# the copy works on a free port: past the sockets and the table,
	# waiting until its --timeout (status 4)
	run_nobody free 4 listen --local-port 5002 --local-addr "$B" --timeout 1
	run_nobody listen $EXIT_SYSTEM listen --local-port $PORT --local-addr "$B" \
		--pcap "$NB_DIR/w/listen.pcap" --timeout 5
	run_nobody connect $EXIT_SYSTEM connect --local-port $PORT --local-addr "$B" \
		--peer "$AP:5000" --pcap "$NB_DIR/w/connect.pcap" --timeout 5
	for n in listen connect; do
		grep -qF "local port $PORT is already served by another p2ptcp (pid $pid, uid 0)" \
			"$LAB_DIR/$n.log" || t_fail "$n: no message naming the victim: $(cat "$LAB_DIR/$n.log")"
		[ ! -e "$NB_DIR/w/$n.pcap" ] || t_fail "the copy made its capture file $n.pcap"
	done
	victim_transfer
}

case_root() {
	local pid rc
	t_need_p2ptcp || return
	victim_start "$1" || return 1
	eval "pid=\$PID_eb"
	t_log "$LAB_DIR/second.log"
	timeout 20 ip netns exec "$LAB_B" "$P2PTCP" listen --local-port $PORT --local-addr "$B" \
		--timeout 5 </dev/null >/dev/null 2>"$LAB_DIR/second.log"
	rc=$?
	expect_exit "a second root listen" $rc $EXIT_SYSTEM
	[ "$(cat "$LAB_DIR/second.log")" = \
		"p2ptcp: local port $PORT is already served by another p2ptcp (pid $pid, uid 0)" ] ||
		t_fail "second listen said: $(cat "$LAB_DIR/second.log")"
	# the lock is per network namespace: A may use the same port number
	t_log "$LAB_DIR/other_ns.log"
	timeout 20 ip netns exec "$LAB_A" "$P2PTCP" listen --local-port $PORT --local-addr "$A" \
		--timeout 1 </dev/null >/dev/null 2>"$LAB_DIR/other_ns.log"
	rc=$?
	expect_exit "listen on the same port in another namespace (timeout)" $rc 4
	victim_transfer
}

t_init || exit 1
t_run "port squat: nobody cannot bind or listen on the port of a running p2ptcp" case_squat 4
t_run "port setcap: nobody's setcap'd p2ptcp cannot start on the port" case_setcap 4
t_run "port root: a second root p2ptcp on the port is refused, naming the first" case_root 4
t_run "ipv6 port squat: nobody cannot bind the port of a dual-stack p2ptcp" case_squat 6
t_run "ipv6 port setcap: nobody's setcap'd p2ptcp cannot start on the port's IPv6 address" case_setcap 6
t_run "ipv6 port root: a second root p2ptcp on the port's IPv6 address is refused" case_root 6
t_summary
