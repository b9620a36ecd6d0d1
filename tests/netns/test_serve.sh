#!/bin/bash
# shellcheck disable=SC2034,SC2154  # ID_<key> are set with eval by key()
# `p2ptcp listen --exec CMD` and `--forward HOST:PORT` through the
# rendezvous server: the two-NAT lab with rendezvousd on S (as in
# test_punch.sh), B serving peers in turn until SIGTERM.
#   exec:    B runs a shell command per peer; two successive
#            `connect <peer-id>` from A (two keys) each send 1 MiB and get
#            back the peer id and address the command saw in its
#            environment and the sha256 of what it read; then SIGTERM
#            stops B with status 0. Once on a port the kernel picks, once
#            with --local-port; either way one registration serves both.
#   forward: B relays each peer to a kernel listener (kpeer) on its own
#            loopback; 16 MiB each way, hashes compared.
#   failed:  a session whose punching times out is logged; the next peer
#            is served.
#   usage:   --exec and --forward together: usage error quoting both.
# Ends with "netns: P passed, F failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))

# waits_n N: the server log says "waiting for a peer" N times.
waits_n() { [ "$(grep -c "waiting for a peer" "$LAB_DIR/srv_b.log" 2>/dev/null)" -ge "$1" ]; }

# server_start ARGS...: B serves (listen -v ARGS) in the background; sets SRV_PID.
server_start() {
	echo "+ p2ptcp listen $*" >"$LAB_DIR/srv_b.log"
	ip netns exec "$LAB_B" "$P2PTCP" listen --rendezvous "$LAB_S_IP:7450" \
		--dir "$LAB_DIR/kb/p2ptcp" -v "$@" </dev/null >"$LAB_DIR/srv_b.out" \
		2>>"$LAB_DIR/srv_b.log" &
	SRV_PID=$!
	lab_track $SRV_PID
	t_log "$LAB_DIR/srv_b.log"
}

# server_stop: SIGTERM; the server must exit 0 within 10 s.
server_stop() {
	local rc
	kill -TERM "$SRV_PID" 2>/dev/null
	lab_wait_pid "$SRV_PID" 10; rc=$?
	expect_exit "the server after SIGTERM" $rc 0
}

# client NAME KEY [ARGS...]: `connect <B's id>` from A with key KEY, stdin
# $LAB_DIR/data, stdout $LAB_DIR/NAME.out; returns its exit status.
client() {
	local name=$1 k=$2
	shift 2
	t_log "$LAB_DIR/$name.log"
	timeout 40 ip netns exec "$LAB_A" env XDG_CONFIG_HOME="$LAB_DIR/$k" "$P2PTCP" connect "$ID_kb" \
		--rendezvous "$LAB_S_IP:7450" -v "$@" <"$LAB_DIR/data" >"$LAB_DIR/$name.out" 2>"$LAB_DIR/$name.log"
}

case_exec() {
	local rc want_hash i k got
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	srv_start || return 1
	key ka && key kb && key kc || return 1
	"$KPEER" gen $MiB --seed 3 >"$LAB_DIR/data"
	want_hash=$(sha256sum <"$LAB_DIR/data")
	# shellcheck disable=SC2016
	server_start "$@" --allow "$ID_ka" --allow "$ID_kc" \
		--exec 'echo "id=$P2PTCP_PEER_ID addr=$P2PTCP_PEER_ADDR"; sha256sum; exit 3'
	i=0
	for k in ka kc; do
		i=$((i + 1))
		wait_for 15 waits_n $i || { t_fail "the server did not register for peer $i"; return 1; }
		client "c$i" "$k"; rc=$?
		expect_exit "connect #$i ($k)" $rc 0
		eval "got=\$ID_$k"
		[ "$(sed -n 1p "$LAB_DIR/c$i.out")" = "id=$got addr=$LAB_A_PUB:$(sed -nE \
			's/.*registered with .* seen as [0-9.]+:([0-9]+).*/\1/p' "$LAB_DIR/c$i.log" | head -1)" ] ||
			t_fail "connect #$i: the command saw '$(sed -n 1p "$LAB_DIR/c$i.out")'"
		[ "$(sed -n 2p "$LAB_DIR/c$i.out")" = "$want_hash" ] ||
			t_fail "connect #$i: hash '$(sed -n 2p "$LAB_DIR/c$i.out")', want '$want_hash'"
	done
	# still serving after two peers (and two child exits with status 3)
	wait_for 15 waits_n 3 || t_fail "the server did not register again after two peers"
	kill -0 "$SRV_PID" 2>/dev/null || t_fail "the server ended after the children exited"
	[ "$(grep -c "exited with status 3" "$LAB_DIR/srv_b.log")" -eq 2 ] ||
		t_fail "the server did not log two child exits"
	server_stop
	grep -q "stopped by signal 15 after 2 peers served" "$LAB_DIR/srv_b.log" ||
		t_fail "no 'stopped by signal 15 after 2 peers served' in the server's log"
	if [ "${1:-}" = --local-port ]; then
		[ "$(grep -c "registered with .* from $LAB_B_IP:$2 " "$LAB_DIR/srv_b.log")" -eq 1 ] ||
			t_fail "the server did not keep one registration from port $2"
	fi
	expect_no_tables "$LAB_B"
	expect_no_tables "$LAB_A"
}

case_forward() {
	local rc kp got want
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	srv_start || return 1
	key ka && key kb || return 1
	lab_bg "$LAB_B" "$LAB_DIR/kp.out" "$LAB_DIR/kp.log" "$KPEER" listen 5022 --bind 127.0.0.1 \
		--send $N --seed 2 --timeout 90
	kp=$LAB_LAST_PID
	t_log "$LAB_DIR/kp.log"
	wait_for 5 listening "$LAB_B" 5022 || { t_fail "kpeer did not listen"; return 1; }
	server_start --forward 127.0.0.1:5022
	wait_for 15 waits_n 1 || { t_fail "the server did not register"; return 1; }
	ENG_WRAP="env XDG_CONFIG_HOME=$LAB_DIR/ka" eng_start ea "$LAB_A" $N 1 - connect "$ID_kb" \
		--rendezvous "$LAB_S_IP:7450"
	peer_wait ea; rc=$?
	expect_exit "p2ptcp connect" $rc 0
	expect_eng_data ea $N 2
	lab_wait_pid "$kp" 20; rc=$?
	expect_exit "kpeer listen" $rc 0
	got=$(grep '^recv' "$LAB_DIR/kp.out")
	want="recv $(sum $N 1)"
	[ "$got" = "$want" ] || t_fail "kpeer received '$got', want '$want'"
	wait_for 15 waits_n 2 || t_fail "the server did not register again"
	server_stop
	expect_no_tables "$LAB_B"
}

# A session that fails (NAT A drops everything to B: punching times out on
# both sides) is logged and the server serves the next peer.
case_failed() {
	local rc
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	srv_start || return 1
	key ka && key kb || return 1
	echo hello >"$LAB_DIR/data"
	server_start --exec cat --punch-window 2
	wait_for 15 waits_n 1 || { t_fail "the server did not register"; return 1; }
	ip netns exec "$LAB_NA" iptables -I FORWARD 1 -d "$LAB_B_PUB" -j DROP || return 1
	client c1 ka --punch-window 2; rc=$?
	expect_exit "connect with every SYN dropped" $rc 4
	# the message names where the SYNs went: B's public endpoint
	grep -q "no connection after 2 s of punching to $LAB_B_PUB:" "$LAB_DIR/c1.log" ||
		t_fail "the punching timeout does not name the peer's endpoint: $(grep 'no connection' "$LAB_DIR/c1.log")"
	ip netns exec "$LAB_NA" iptables -D FORWARD 1 || return 1
	wait_for 15 waits_n 2 || { t_fail "the server did not register after the failure"; return 1; }
	grep -q "ended: no connection within the punching window" "$LAB_DIR/srv_b.log" ||
		t_fail "the failed session was not logged"
	client c2 ka; rc=$?
	expect_exit "connect after the failure" $rc 0
	[ "$(cat "$LAB_DIR/c2.out")" = hello ] || t_fail "echo: got '$(cat "$LAB_DIR/c2.out")'"
	server_stop
	grep -q "after 1 peers served, 1 failed" "$LAB_DIR/srv_b.log" || t_fail "no count in the log"
}

# With --no-encrypt nothing proves the peer's id: the child gets no
# P2PTCP_PEER_ID (only the server's word would fill it), and its address.
case_plain_id() {
	local rc got
	t_need_p2ptcp || return
	lab_two_nat drop with_s || return 1
	srv_start || return 1
	key ka && key kb || return 1
	echo hello >"$LAB_DIR/data"
	# shellcheck disable=SC2016
	server_start --no-encrypt --exec 'echo "id=${P2PTCP_PEER_ID-unset} addr=${P2PTCP_PEER_ADDR:+set}"'
	wait_for 15 waits_n 1 || { t_fail "the server did not register"; return 1; }
	client c1 ka --no-encrypt; rc=$?
	expect_exit "plain connect" $rc 0
	got=$(sed -n 1p "$LAB_DIR/c1.out")
	[ "$got" = "id=unset addr=set" ] || t_fail "the plain child saw '$got', want 'id=unset addr=set'"
	server_stop
}

case_usage() {
	local rc
	t_need_p2ptcp || return
	t_log "$LAB_DIR/usage.log"
	timeout 10 "$P2PTCP" listen --rendezvous 127.0.0.1:7450 --exec cat \
		--forward 127.0.0.1:22 </dev/null >/dev/null 2>"$LAB_DIR/usage.log"
	rc=$?
	expect_exit "--exec with --forward" $rc 2
	grep -qF -- "--exec 'cat' and --forward '127.0.0.1:22'" "$LAB_DIR/usage.log" ||
		t_fail "no usage error quoting both: $(cat "$LAB_DIR/usage.log")"
}

rdv_init || exit 1
t_run "serve exec: listen --exec serves two peers in turn, then SIGTERM stops it (0)" case_exec
t_run "serve exec-port: the same, all from --local-port 40100" case_exec --local-port 40100
t_run "serve forward: listen --forward to a kernel listener, 16 MiB each way" case_forward
t_run "serve failed: a session that times out is logged, the next peer is served" case_failed
t_run "serve plain-id: with --no-encrypt the child gets no P2PTCP_PEER_ID" case_plain_id
t_run "serve usage: --exec with --forward is a usage error quoting both" case_usage
t_summary
