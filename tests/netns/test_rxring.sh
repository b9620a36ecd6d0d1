#!/bin/bash
# The receive ring (core/net/rxring.c, docs/driver.md "The receive ring"):
# where offload is on by default (the host has no rules of its own) IPv4
# segments come through a TPACKET_V3 packet ring and the raw socket
# receives nothing; a kernel client moves 16 MiB each way with our listen,
# with wire-sized segments and with the veth offloads on (64 KiB GRO
# packets, partial checksums). IPv6 stays on the raw socket. With a
# firewall rule of the host (the offload gate closed), and with --no-gso,
# the raw socket receives IPv4, and -v says which path receives.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))
RING="receive: IPv4 through a packet ring (TPACKET_V3"
RAW="receive: IPv4 through the raw socket"

expect_log() { # NAME PATTERN WHAT
	grep -qF "$2" "$LAB_DIR/$1.log" || t_fail "$1's log does not say $3"
}

# listen_pair FAMILY [P2PTCP-ARGS...]: our listen on A, a kernel client on
# B sending N bytes to it and taking N back; waits for both.
listen_pair() {
	local fam=$1 to
	shift
	if [ "$fam" = 6 ]; then
		to="[$LAB_A_IP6]:5001"
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
	t_need_p2ptcp || return
	[ "${1:-}" = keep ] && LAB_VETH_OFFLOAD=keep
	lab_link || return 1
	listen_pair 4
	expect_log ea "$RING" "that the ring receives"
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

t_init || exit 1
t_run "ring: a kernel client to our listen, 16 MiB each way through the packet ring" case_ring
t_run "ring, veth offloads on: 64 KiB GRO packets, partial checksums, 16 MiB each way" case_ring keep
t_run "ring: IPv4 ring beside IPv6 on the raw socket, 16 MiB each way over IPv6" case_ipv6
t_run "a host firewall rule (offload gate closed): the raw socket receives, data intact" case_raw nft
t_run "--no-gso: the raw socket receives, data intact" case_raw no-gso
t_summary
