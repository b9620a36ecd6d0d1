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
# Ends with "netns: P passed, F failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))
PORT=5001
EXIT_SYSTEM=71

# victim_start: B listens on PORT as root and waits (its table is up).
victim_start() {
	lab_link || return 1
	nobody_dir || return 1
	install -m 755 "$KPEER" "$NB_DIR/kpeer"
	eng_start eb "$LAB_B" $N 2 - listen --local-port $PORT --local-addr "$LAB_B_IP" --timeout 60
	wait_for 5 has_table "$LAB_B" || { t_fail "p2ptcp listen did not start"; return 1; }
}

# victim_transfer: A's kernel connects; 16 MiB each way arrive intact.
victim_transfer() {
	local ra rb
	kp_start ka "$LAB_A" connect "$LAB_B_IP:$PORT" --send $N --seed 1 --timeout 60
	peer_wait ka; ra=$?
	peer_wait eb; rb=$?
	expect_exit "kpeer connect" $ra
	expect_exit "p2ptcp listen" $rb
	expect_eng_data eb $N 1
	expect_kp_data ka $N 2
	expect_no_tables "$LAB_B"
}

# squat NAME KPEER-SQUAT-ARGS...: nobody runs `kpeer squat PORT ARGS` on
# B; a bound squatter keeps listening (and would take the connection).
squat() {
	local name=$1
	shift
	echo "+ kpeer squat $PORT $*" >"$LAB_DIR/$name.err"
	ip netns exec "$LAB_B" "${NOBODY[@]}" "$NB_DIR/kpeer" squat $PORT "$@" --timeout 30 </dev/null >"$LAB_DIR/$name.out" \
		2>>"$LAB_DIR/$name.err" &
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
	squat s1 --bind "$LAB_B_IP" --reuseaddr
	squat s2 --reuseaddr
	squat s3 --bind "$LAB_B_IP" --reuseport
	squat s4 --reuseaddr --reuseport
	squat s5 --bind "$LAB_B_IP"
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
	victim_start || return 1
	eval "pid=\$PID_eb"
	nobody_p2ptcp || return 1
	# the copy works on a free port: past the sockets and the table,
	# waiting until its --timeout (status 4)
	run_nobody free 4 listen --local-port 5002 --local-addr "$LAB_B_IP" --timeout 1
	run_nobody listen $EXIT_SYSTEM listen --local-port $PORT --local-addr "$LAB_B_IP" \
		--pcap "$NB_DIR/w/listen.pcap" --timeout 5
	run_nobody connect $EXIT_SYSTEM connect --local-port $PORT --local-addr "$LAB_B_IP" \
		--peer "$LAB_A_IP:5000" --pcap "$NB_DIR/w/connect.pcap" --timeout 5
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
	victim_start || return 1
	eval "pid=\$PID_eb"
	t_log "$LAB_DIR/second.log"
	timeout 20 ip netns exec "$LAB_B" "$P2PTCP" listen --local-port $PORT --local-addr "$LAB_B_IP" \
		--timeout 5 </dev/null >/dev/null 2>"$LAB_DIR/second.log"
	rc=$?
	expect_exit "a second root listen" $rc $EXIT_SYSTEM
	[ "$(cat "$LAB_DIR/second.log")" = \
		"p2ptcp: local port $PORT is already served by another p2ptcp (pid $pid, uid 0)" ] ||
		t_fail "second listen said: $(cat "$LAB_DIR/second.log")"
	# the lock is per network namespace: A may use the same port number
	t_log "$LAB_DIR/other_ns.log"
	timeout 20 ip netns exec "$LAB_A" "$P2PTCP" listen --local-port $PORT --local-addr "$LAB_A_IP" \
		--timeout 1 </dev/null >/dev/null 2>"$LAB_DIR/other_ns.log"
	rc=$?
	expect_exit "listen on the same port in another namespace (timeout)" $rc 4
	victim_transfer
}

t_init || exit 1
t_run "port squat: nobody cannot bind or listen on the port of a running p2ptcp" case_squat
t_run "port setcap: nobody's setcap'd p2ptcp cannot start on the port" case_setcap
t_run "port root: a second root p2ptcp on the port is refused, naming the first" case_root
t_summary
