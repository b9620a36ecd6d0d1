#!/bin/bash
# The receive ring (core/net/rxring.c, docs/driver.md "The receive ring"):
# where offload is on by default (the host has no rules of its own) IPv4
# segments with data come through a TPACKET_V2 packet ring; a kernel client
# moves 16 MiB each way with our listen, with wire-sized segments and with
# the veth offloads on (64 KiB GRO packets, larger than a ring frame: read
# from the socket's queue, PACKET_COPY_THRESH; partial checksums). IPv6
# stays on the raw socket. With a firewall rule of the host (the offload
# gate closed), with --no-gso, and on a host that forwards IPv4 without
# --local-addr, the raw socket receives IPv4, and -v says which path
# receives; a forwarding host with --local-addr gets the ring for that
# address. A host that starts forwarding later closes a ring on every
# address within a second.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))
RING="receive: IPv4 through a packet ring (TPACKET_V2"
RAW="receive: IPv4 through the raw socket"
INGRESS="receive: the ring takes IPv4 off the device first; table inet p2ptcp_"

expect_log() { # NAME PATTERN WHAT
	grep -qF "$2" "$LAB_DIR/$1.log" || t_fail "$1's log does not say $3"
}

# ring_counts: "PACKETS COPIED" from the ring's closing -v line, or nothing.
ring_counts() {
	sed -nE 's/.*receive ring: ([0-9]+) packets, ([0-9]+) of them larger than a frame.*/\1 \2/p' \
		"$LAB_DIR/ea.log" | tail -1
}

# listen_pair FAMILY [P2PTCP-ARGS...]: our listen on A, a kernel client on
# B sending N bytes to it and taking N back; waits for both. FAMILY 4any:
# IPv4 without --local-addr.
listen_pair() {
	local fam=$1 to
	shift
	if [ "$fam" = 6 ]; then
		to="[$LAB_A_IP6]:5001"
		eng_start ea "$LAB_A" $N 1 - listen --local-port 5001 "$@"
	elif [ "$fam" = 4any ]; then
		to="$LAB_A_IP:5001"
		eng_start ea "$LAB_A" $N 1 - listen --local-port 5001 "$@"
	else
		to="$LAB_A_IP:5001"
		eng_start ea "$LAB_A" $N 1 - listen --local-port 5001 --local-addr "$LAB_A_IP" "$@"
	fi
	wait_for 5 has_table "$LAB_A" || t_fail "no p2ptcp_ table while listening"
	sleep 0.2
	kp_start kb "$LAB_B" connect "$to" --retry --send $N --seed 2
	expect_kernel_pair ea kb $N
	expect_no_tables "$LAB_A"
}

case_ring() { # [keep: veth offloads on]
	local c
	t_need_p2ptcp || return
	[ "${1:-}" = keep ] && LAB_VETH_OFFLOAD=keep
	lab_link || return 1
	listen_pair 4
	expect_log ea "$RING" "that the ring receives"
	expect_log ea "frames of 2048 bytes) for segments with data to $LAB_A_IP," "the ring's address"
	expect_log ea "$INGRESS" "that the ring's segments skip IP input"
	expect_log ea "(devices: lo eth0)" "the devices of the ingress chain"
	c=($(ring_counts))
	[ "${#c[@]}" = 2 ] || { t_fail "no closing line of the ring"; return; }
	# 16 MiB in MSS-sized segments at least 11,000 packets; in 64 KiB
	# GRO packets fewer, most of them through the queue
	if [ "${1:-}" = keep ]; then
		[ "${c[1]}" -gt 0 ] || t_fail "no packet larger than a frame came (${c[*]})"
	else
		[ "${c[0]}" -gt 11000 ] || t_fail "only ${c[0]} packets through the ring"
		[ "${c[1]}" = 0 ] || t_fail "${c[1]} wire-sized packets larger than a frame"
	fi
}

# A lone segment is handed over at once: 300 round trips of 64 bytes from
# a kernel client to our listen, which echoes them (its stdout is its
# stdin), median well under the 1 ms a TPACKET_V3 block waits at least
# (the kernel's own round trip on this path is ~20 us).
case_latency() {
	local d=$LAB_DIR med
	t_need_p2ptcp || return
	lab_link || return 1
	mkfifo "$d/loop" || return 1
	echo "+ p2ptcp listen --local-port 5001 -v" >"$d/ea.log"
	ip netns exec "$LAB_A" "$P2PTCP" listen --local-port 5001 -v <>"$d/loop" >&0 2>>"$d/ea.log" &
	lab_track $!
	t_log "$d/ea.log"
	t_log "$d/rr.out"
	timeout 60 ip netns exec "$LAB_B" "$BUILD/tests/tools/rrping" ping "$LAB_A_IP:5001" --rounds 300 \
		--timeout 30 >"$d/rr.out" 2>&1 </dev/null || { t_fail "the round trips failed"; return; }
	expect_log ea "$RING" "that the ring receives"
	med=$(sed -nE 's/.*median_us=([0-9]+).*/\1/p' "$d/rr.out")
	[ -n "$med" ] && [ "$med" -lt 500 ] || t_fail "median round trip ${med:-?} us, want < 500"
}

# A host that forwards IPv4: without --local-addr the raw socket receives
# (a router's packet socket sees what it forwards); with it, the ring, for
# that address.
case_forward() { # any|addr
	t_need_p2ptcp || return
	lab_link || return 1
	ip netns exec "$LAB_A" sysctl -qw net.ipv4.conf.all.forwarding=1 || return 1
	if [ "$1" = any ]; then
		listen_pair 4any
		expect_log ea "$RAW (this host forwards IPv4, net.ipv4.conf.all.forwarding" \
			"that a forwarding host keeps the raw socket"
		grep -qF "$RING" "$LAB_DIR/ea.log" && t_fail "the ring received on a forwarding host"
	else
		listen_pair 4
		expect_log ea "frames of 2048 bytes) for segments with data to $LAB_A_IP (this host forwards IPv4)" \
			"that the ring takes our address only"
	fi
	return 0
}

# A host that starts forwarding IPv4 while our listen (every address)
# receives through the ring: within about a second the raw socket takes
# all segments again and the ring closes, saying why; the transfer that
# follows is intact and none of it came through the ring.
case_forward_later() {
	local c
	t_need_p2ptcp || return
	lab_link || return 1
	eng_start ea "$LAB_A" $N 1 - listen --local-port 5001
	# the table comes before the ring: wait for the ring's line itself
	wait_for 5 grep -qF "$RING" "$LAB_DIR/ea.log" || { t_fail "ea's log does not say that the ring receives"; return; }
	expect_log ea "$INGRESS" "that the ring's segments skip IP input"
	lab_nft_tables "$LAB_A" | grep -q '^inet p2ptcp_.*_ring$' || t_fail "no ring table while the ring is open"
	ip netns exec "$LAB_A" sysctl -qw net.ipv4.conf.all.forwarding=1 || return 1
	wait_for 5 grep -qF "receive: this host forwards IPv4 now (net.ipv4.conf.all.forwarding): the packet ring" \
		"$LAB_DIR/ea.log" || { t_fail "the ring did not close when the host began to forward"; return; }
	# gone with the ring, capabilities or not: nothing drops segments
	# that no ring takes any more
	lab_nft_tables "$LAB_A" | grep -q '^inet p2ptcp_.*_ring$' && t_fail "the ring's table outlived the ring"
	kp_start kb "$LAB_B" connect "$LAB_A_IP:5001" --retry --send $N --seed 2
	expect_kernel_pair ea kb $N
	c=($(ring_counts))
	[ "${#c[@]}" = 0 ] || t_fail "the ring took ${c[0]} packets after it closed"
	expect_no_tables "$LAB_A"
}

# Both families on every address: IPv4 through the ring, IPv6 through the
# raw socket, and an IPv6 transfer intact.
case_ipv6() {
	t_need_p2ptcp || return
	lab_link6 || return 1
	listen_pair 6
	expect_log ea "$RING" "that the ring receives IPv4"
	expect_log ea "; IPv6 through the raw socket" "that IPv6 stays on the raw socket"
}

case_raw() { # nft|no-gso
	local args=()
	t_need_p2ptcp || return
	lab_link || return 1
	case $1 in
	nft) ip netns exec "$LAB_A" iptables -A INPUT -p udp --dport 9 -j DROP || return 1 ;;
	no-gso) args=(--no-gso) ;;
	esac
	listen_pair 4 "${args[@]}"
	expect_log ea "$RAW" "that the raw socket receives"
	grep -qF "$RING" "$LAB_DIR/ea.log" && t_fail "the ring received despite the closed gate"
	return 0
}

# A host where a ring on every protocol would see packets twice or before
# the host's own ingress rules: the ring stays on ETH_P_IP, its segments
# go through IP input as well (no ring table), -v says why, data intact.
case_not_plain() { # macvlan|clsact|netdev
	local why
	t_need_p2ptcp || return
	lab_link || return 1
	case $1 in
	macvlan)
		# eth0 under a macvlan (this kernel has no VLANs; a bridge's
		# port is left out the same way: test_netdev.sh)
		lab_exec "$LAB_A" ip link add link eth0 name mv0 type macvlan mode bridge || return 1
		why="1 of this host's 3 devices are a port of another or under another" ;;
	clsact)
		lab_exec "$LAB_A" tc qdisc add dev eth0 clsact || return 1
		why="clsact" ;;
	netdev)
		lab_exec "$LAB_A" nft add table netdev lab_in &&
			lab_exec "$LAB_A" nft add chain netdev lab_in c \
				"{ type filter hook ingress device eth0 priority 0; policy accept; }" || return 1
		why="table netdev lab_in, chain c (hook ingress), which a ring on every protocol would see packets before" ;;
	esac
	listen_pair 4
	expect_log ea "$RING" "that the ring receives"
	expect_log ea "receive: the ring's segments go through IP input as well (" "that the ring's segments take IP input"
	expect_log ea "$why" "why ($why)"
	grep -qF "$INGRESS" "$LAB_DIR/ea.log" && t_fail "a ring table on a host where the ring would see packets twice or before its rules"
	return 0
}

t_init || exit 1
t_run "ring: a kernel client to our listen, 16 MiB each way through the packet ring" case_ring
t_run "ring, veth offloads on: 64 KiB GRO packets, partial checksums, 16 MiB each way" case_ring keep
t_run "ring: IPv4 ring beside IPv6 on the raw socket, 16 MiB each way over IPv6" case_ipv6
t_run "ring: 64-byte round trips through our echo, median < 500 us (no block timeout)" case_latency
t_run "a host that forwards IPv4, no --local-addr: the raw socket receives, data intact" case_forward any
t_run "a host that forwards IPv4, --local-addr: the ring for that address, data intact" case_forward addr
t_run "a host that starts forwarding IPv4: the ring closes, the raw socket receives, data intact" case_forward_later
t_run "a macvlan on the veth: the ring on ETH_P_IP, no ring table, data intact" case_not_plain macvlan
t_run "a clsact qdisc: the ring on ETH_P_IP, no ring table, data intact" case_not_plain clsact
t_run "a netdev ingress chain: the ring on ETH_P_IP, no ring table, data intact" case_not_plain netdev
t_run "a host firewall rule (offload gate closed): the raw socket receives, data intact" case_raw nft
t_run "--no-gso: the raw socket receives, data intact" case_raw no-gso
t_summary
