#!/bin/bash
# shellcheck disable=SC2154  # ID_<key> and PID_<name> are set with eval
# Capabilities after setup: once the port, the raw socket and the firewall
# table exist, a running p2ptcp holds none (or exactly what it still
# needs), read from /proc/<pid>/status while it runs, and still does its
# job:
#   direct:   `listen` as root: CapEff, CapPrm, CapInh, CapAmb and CapBnd
#             all 0, NoNewPrivs 1; then a kernel client's 16 MiB each way;
#             again on an IPv6 address, the client over IPv6;
#   gso:      `connect --gso` to a kernel listener, established, offload
#             on: only CAP_NET_ADMIN (bit 12) in CapEff and CapPrm;
#   setcap:   nobody's setcap'd copy listening: CapEff and CapPrm 0;
#   rdv:      `listen` through rendezvousd waiting for a peer: all 0,
#             NoNewPrivs 1; then a peer connects, 16 MiB each way;
#   exec:     `listen --exec`: CapEff and CapPrm 0, but the bounding set
#             kept and NoNewPrivs 0 (the command may be privileged).
# Ends with "netns: P passed, F failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))
NONE=0000000000000000
NET_ADMIN=0000000000001000

# case_direct 4|6: on B's address of that IP version.
case_direct() {
	local pid f b bp
	t_need_p2ptcp || return
	if [ "$1" = 6 ]; then
		lab_link6 || return 1
		b=$LAB_B_IP6 bp="[$LAB_B_IP6]"
	else
		lab_link || return 1
		b=$LAB_B_IP bp=$LAB_B_IP
	fi
	eng_start eb "$LAB_B" $N 2 - listen --local-port 5001 --local-addr "$b" --timeout 30
	wait_for 5 dropped eb || { t_fail "listen did not say it dropped its privileges"; return 1; }
	pid=$PID_eb
	for f in CapEff CapPrm CapInh CapAmb CapBnd; do
		expect_status listen "$pid" $f $NONE
	done
	expect_status listen "$pid" NoNewPrivs 1
	kp_start ka "$LAB_A" connect "$bp:5001" --send $N --seed 1
	expect_kernel_pair eb ka $N 2
}

case_gso() {
	local ra rb
	t_need_p2ptcp || return
	lab_link || return 1
	kp_start kb "$LAB_B" listen 5001 --send $N --seed 2
	wait_for 5 listening "$LAB_B" 5001 || { t_fail "kpeer did not listen"; return 1; }
	eng_start ea "$LAB_A" $N 1 "$LAB_DIR/release" connect --active --gso --local-port 40001 \
		--local-addr "$LAB_A_IP" --peer "$LAB_B_IP:5001"
	wait_for 10 grep -q "offload: segments go out as GSO frames" "$LAB_DIR/ea.log" ||
		t_fail "offload was not used"
	expect_status "connect --gso" "$PID_ea" CapEff $NET_ADMIN
	expect_status "connect --gso" "$PID_ea" CapPrm $NET_ADMIN
	expect_status "connect --gso" "$PID_ea" NoNewPrivs 1
	touch "$LAB_DIR/release"
	peer_wait ea; ra=$?
	peer_wait kb; rb=$?
	expect_exit "p2ptcp connect --gso" $ra
	expect_exit "kpeer listen" $rb
	expect_eng_data ea $N 2
	expect_kp_data kb $N 1
}

case_setcap() {
	local pid
	t_need_p2ptcp || return
	lab_link || return 1
	nobody_dir && nobody_p2ptcp || return 1
	ip netns exec "$LAB_B" "${NOBODY[@]}" "$NB_DIR/p2ptcp" listen \
		--local-port 5001 --local-addr "$LAB_B_IP" --timeout 10 -v </dev/null >/dev/null \
		2>"$LAB_DIR/nb.log" &
	pid=$!
	lab_track $pid
	t_log "$LAB_DIR/nb.log"
	wait_for 5 dropped nb || { t_fail "the copy did not say it dropped its privileges"; return 1; }
	expect_status "nobody's copy" $pid Uid "$(printf '65534\t65534\t65534\t65534')"
	expect_status "nobody's copy" $pid CapEff $NONE
	expect_status "nobody's copy" $pid CapPrm $NONE
	kill -TERM $pid
	lab_wait_pid $pid 5 >/dev/null || true
}

case_rdv() {
	local f
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	srv_start || return 1
	key ka && key kb || return 1
	eng_start eb "$LAB_B" $N 2 - listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kb/p2ptcp" \
		--timeout 30
	wait_for 10 waiting eb || { t_fail "the listener did not register"; return 1; }
	for f in CapEff CapPrm CapInh CapAmb CapBnd; do
		expect_status "listen (rendezvous)" "$PID_eb" $f $NONE
	done
	expect_status "listen (rendezvous)" "$PID_eb" NoNewPrivs 1
	eng_start ea "$LAB_A" $N 1 - connect "$ID_kb" --rendezvous "$LAB_S_IP" \
		--dir "$LAB_DIR/ka/p2ptcp"
	expect_pair ea eb $N
}

case_exec() {
	local pid
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	srv_start || return 1
	key kb || return 1
	ip netns exec "$LAB_B" "$P2PTCP" listen --rendezvous "$LAB_S_IP" --dir "$LAB_DIR/kb/p2ptcp" \
		--exec cat -v </dev/null >/dev/null 2>"$LAB_DIR/srv_b.log" &
	pid=$!
	lab_track $pid
	t_log "$LAB_DIR/srv_b.log"
	wait_for 10 waiting srv_b || { t_fail "the server did not register"; return 1; }
	expect_status "listen --exec" $pid CapEff $NONE
	expect_status "listen --exec" $pid CapPrm $NONE
	expect_status "listen --exec" $pid NoNewPrivs 0
	[ "$(status_of $pid CapBnd)" != $NONE ] || t_fail "listen --exec: the bounding set was emptied"
	kill -TERM $pid
	lab_wait_pid $pid 10 >/dev/null || true
}

rdv_init || exit 1
t_run "privs direct: listen holds no capability after setup, and serves a peer" case_direct 4
t_run "ipv6 privs direct: an IPv6 listen holds no capability, and serves a peer" case_direct 6
t_run "privs gso: connect --gso keeps only CAP_NET_ADMIN, and offloads" case_gso
t_run "privs setcap: nobody's setcap'd copy holds none after setup" case_setcap
t_run "privs rdv: a rendezvous listener waits with none, and serves a peer" case_rdv
t_run "privs exec: listen --exec holds none, keeps the bounding set, no NoNewPrivs" case_exec
t_summary
