#!/bin/bash
# The firewall table p2ptcp installs against the kernel's RSTs: while the
# program runs there is exactly one, "table inet p2ptcp_<pid>_<port>" with
# "flags owner" (and, where the receive ring takes IPv4 off the device,
# the ring's, "..._ring", which drops the ring's segments before IP
# input); after it exits (normally, on SIGINT, SIGTERM and SIGKILL)
# none named p2ptcp_* is left (`nft list tables` in its namespace); and
# with it the kernel's own TCP takes none of the segments (InSegs 0, no
# RSTs counted in OutRsts).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$MiB

# p2ptcp's tables in NS, one a line, sorted
our_tables() { lab_nft_tables "$1" | grep 'p2ptcp_' | sort; }
tables_are() { [ "$(our_tables "$LAB_A")" = "$1" ]; }

# the tables of the running engine ea: names, family, owner flag. A's
# lab host is one where the receive ring takes IPv4 off the device (lo and
# a veth, no rules: node.c's ingress_devices()), so the ring's table
# (nftguard.h) is there as well, and goes with the other.
check_table() { # port
	local pid want t
	eval "pid=\$PID_ea"
	want="inet p2ptcp_${pid}_$1
inet p2ptcp_${pid}_$1_ring"
	if ! wait_for 5 tables_are "$want"; then
		t_fail "tables '$(our_tables "$LAB_A" | tr '\n' ' ')' while p2ptcp runs, want exactly '$(echo "$want" | tr '\n' ' ')'"
		return 1
	fi
	for t in "inet p2ptcp_${pid}_$1" "inet p2ptcp_${pid}_$1_ring"; do
		lab_exec "$LAB_A" nft list table $t 2>/dev/null | grep -q 'flags owner' ||
			t_fail "table $t lacks 'flags owner'"
	done
}

# packets the ring's table dropped before IP input (its counter), in NS
ring_drops() { # NS TABLE
	lab_exec "$1" nft list table $2 2>/dev/null | sed -nE 's/.*counter packets ([0-9]+) .*/\1/p'
}
ring_dropped() { [ "$(ring_drops "$@")" -gt 0 ] 2>/dev/null; }

# the kernel's side of the connection exists (in any state but LISTEN)
connected() { lab_exec "$LAB_B" ss -Htn '( sport = :5001 )' | grep -q .; }

# the kernel's count of TCP field KEY (/proc/net/snmp) in NS
tcp_mib() { # NS KEY
	ip netns exec "$1" cat /proc/net/snmp |
		awk -v k="$2" '$1 == "Tcp:" && !h { for (i = 2; i <= NF; i++) if ($i == k) c = i; h = 1; next }
		     $1 == "Tcp:" && h { print $c; exit }'
}

# p2ptcp --active to a kernel listener, its stdin held open
setup() {
	lab_link || return 1
	kp_start kb "$LAB_B" listen 5001 --send $N --seed 2 --timeout 30
	sleep 0.2
	eng_start ea "$LAB_A" $N 1 "$LAB_DIR/release" connect --active --local-port 40001 \
		--local-addr "$LAB_A_IP" --peer "$LAB_B_PUB:5001"
	wait_for 10 connected || t_fail "not connected"
}

case_normal() {
	local rc
	t_need_p2ptcp || return
	setup || return 1
	check_table 40001
	# The kernel's data segments were the ring's alone: dropped on the
	# device, A's IP input saw none (InSegs below would count them, as
	# the kernel's TCP counts a segment before it looks at its type).
	local pid
	eval "pid=\$PID_ea"
	wait_for 10 ring_dropped "$LAB_A" "inet p2ptcp_${pid}_40001_ring" ||
		t_fail "the ring's table dropped '$(ring_drops "$LAB_A" "inet p2ptcp_${pid}_40001_ring")' segments, want some"
	touch "$LAB_DIR/release"
	peer_wait ea; rc=$?
	expect_exit p2ptcp $rc
	expect_eng_data ea $N 2
	expect_no_tables "$LAB_A"
	# The prerouting chain: A's kernel TCP never looked at the segments
	# (about 750) of the transfer, so it answered none with a RST.
	local rsts segs
	rsts=$(tcp_mib "$LAB_A" OutRsts)
	segs=$(tcp_mib "$LAB_A" InSegs)
	[ "${rsts:-x}" = 0 ] || t_fail "A's kernel sent $rsts RSTs (OutRsts), want 0"
	[ "${segs:-x}" = 0 ] || t_fail "A's kernel TCP took $segs segments (InSegs), want 0"
}

case_signal() { # INT, TERM or KILL
	local sig=$1 pid rc
	t_need_p2ptcp || return
	# as if started from an interactive shell: a background job started by
	# a script would inherit SIGINT ignored
	ENG_WRAP="env --default-signal=INT" setup || return 1
	check_table 40001
	eval "pid=\$PID_ea"
	# (stderr: no "Killed" job notice from bash in the output)
	{
		kill "-$sig" "$pid"
		peer_wait ea 10
	} 2>/dev/null
	rc=$?
	[ $rc -ne 124 ] || t_fail "p2ptcp did not exit within 10 s of SIG$sig"
	[ "$sig" = KILL ] || [ $rc -ne 0 ] || t_fail "p2ptcp exited 0 after SIG$sig (connection not finished)"
	expect_no_tables "$LAB_A"
	touch "$LAB_DIR/release"
}

case_listen_term() {
	local pid rc
	t_need_p2ptcp || return
	lab_link || return 1
	eng_start ea "$LAB_A" 0 0 - listen --local-port 5001 --local-addr "$LAB_A_IP"
	check_table 5001
	eval "pid=\$PID_ea"
	kill -TERM "$pid"
	peer_wait ea 10; rc=$?
	[ $rc -ne 124 ] || t_fail "p2ptcp listen did not exit within 10 s of SIGTERM"
	expect_no_tables "$LAB_A"
}

t_init || exit 1
t_run "nft: the owner tables p2ptcp_<pid>_<port> and its _ring while running, none after a normal exit; the ring's table drops the data segments; the kernel's TCP sees none" case_normal
t_run "nft: no table after SIGINT" case_signal INT
t_run "nft: no table after SIGTERM" case_signal TERM
t_run "nft: no table after SIGKILL" case_signal KILL
t_run "nft: listen: table while listening, none after SIGTERM" case_listen_term
t_summary
