#!/bin/bash
# p2ptcp --gso: segmentation offload through a packet socket (docs/driver.md),
# 64 MiB each way with hashes compared:
#   - our --active --gso connect to a kernel listener on a link whose veths
#     have their transmit offloads off (the lab's default): the sending
#     kernel cuts our 64 KiB frames and computes every checksum from the
#     pseudo-header sum we leave in the field, and the receiving kernel
#     verifies each one (its InCsumErrors counter must stay 0);
#   - the same with the veth offloads on: the frames cross the link whole;
#   - a kernel client to our listen --gso;
#   - p2ptcp --gso to p2ptcp --gso, simultaneous open through two NATs
#     (MASQUERADE and conntrack on the routers handle the GSO packets), with
#     the veth offloads off and on, and with 1% loss both ways (16 MiB);
#   - our own host's netfilter, which the frames bypass: a firewall that
#     drops conntrack INVALID packets (conntrack is told to stop tracking
#     the window, so the peer's ACKs stay valid), a NAT on our host (no
#     offload then), an xfrm policy covering the flow (no offload; policies
#     for other flows do not matter), and conntrack or xfrm that cannot be
#     asked (their netlink socket fails, by a second shim: no offload);
#   - the fallbacks: the kernel refusing frames (sendmmsg on the packet
#     socket made to fail with EINVAL by an LD_PRELOAD shim built here), the
#     next hop's neighbour entry deleted in mid-transfer, and a peer on the
#     same host (a local route: no offload at all). Each time the rest goes
#     through the raw socket and the data still arrives intact.
#
# `bash tests/netns/test_gso.sh bench` instead measures bulk throughput on one
# link (BENCH_MB MiB, default 1024, from `head -c ... /dev/zero`), with the
# veth offloads on and off: the kernel's TCP, p2ptcp and p2ptcp --gso sending
# to a kernel receiver, and the kernel sending to p2ptcp (with and without
# --gso); Gbit/s, the ratio to the kernel, CPU seconds per GiB of sender and
# receiver (/usr/bin/time). BENCH_RUNS (default 1) repeats each row.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((64 * MiB))
T_XFER_LIMIT=${T_XFER_LIMIT:-90}
SHIM_DIR=""

# the kernel's count of TCP segments with a bad checksum in NS
csum_errors() {
	ip netns exec "$1" cat /proc/net/snmp |
		awk '$1 == "Tcp:" && !h { for (i = 2; i <= NF; i++) if ($i == "InCsumErrors") c = i; h = 1; next }
		     $1 == "Tcp:" && h { print $c; exit }'
}

expect_no_csum_errors() { # NS
	local n
	n=$(csum_errors "$1")
	# shellcheck disable=SC2031
	[ "${n:-x}" = 0 ] || t_fail "${1#"$LAB_PREFIX"-}: $n TCP segments with a bad checksum (InCsumErrors)"
}

# expect_offload NAME: the engine NAME sent GSO frames that carried more
# segments than frames (the kernel really cut them).
expect_offload() {
	local log=$LAB_DIR/$1.log line frames segs
	grep -q "offload: segments go out as GSO frames" "$log" ||
		{ t_fail "$1 did not switch to the packet socket"; return; }
	line=$(grep "frames through the packet socket carried" "$log" | tail -1)
	frames=$(echo "$line" | sed -nE 's/.*offload: ([0-9]+) frames.*/\1/p')
	segs=$(echo "$line" | sed -nE 's/.*carried ([0-9]+) segments.*/\1/p')
	if [ -z "$frames" ] || [ -z "$segs" ]; then
		t_fail "$1: no offload counters in its log"
		return
	fi
	[ "$segs" -gt "$frames" ] || t_fail "$1: $frames frames carried only $segs segments"
}

# expect_log NAME PATTERN WHAT
expect_log() {
	grep -q "$2" "$LAB_DIR/$1.log" || t_fail "$1's log does not say $3"
}

finish_kernel() { # engine-name kernel-name [kernel-ns]
	expect_kernel_pair "$1" "$2" "$N"
	[ -n "${3:-}" ] && expect_no_csum_errors "$3"
	expect_no_tables "$LAB_A"
}

# --- cases ---------------------------------------------------------------------

case_active() {
	t_need_p2ptcp || return
	lab_link || return 1
	kp_start kb "$LAB_B" listen 5001 --send $N --seed 2
	wait_for 5 listening "$LAB_B" 5001 || t_fail "kernel listener not up"
	eng_start ea "$LAB_A" $N 1 - connect --active --gso --local-port 40001 \
		--local-addr "$LAB_A_IP" --peer "$LAB_B_PUB:5001"
	finish_kernel ea kb "$LAB_B"
	expect_offload ea
}

case_listen() {
	t_need_p2ptcp || return
	lab_link || return 1
	eng_start ea "$LAB_A" $N 1 - listen --gso --local-port 5001 --local-addr "$LAB_A_IP"
	wait_for 5 has_table "$LAB_A" || t_fail "no p2ptcp_ table while listening"
	sleep 0.2
	kp_start kb "$LAB_B" connect "$LAB_A_PUB:5001" --retry --send $N --seed 2
	finish_kernel ea kb "$LAB_B"
	expect_offload ea
}

case_nat() { # [LOSS: drop that fraction on NAT A, both ways]
	local ra rb p
	t_need_p2ptcp || return
	lab_two_nat drop || return 1
	if [ -n "${1:-}" ]; then
		lab_loss "$LAB_NA" lan0 "$1"
		lab_loss "$LAB_NA" wan0 "$1"
		# wire-sized retransmissions and SACK through the packet socket
		N=$((16 * MiB))
	fi
	eng_start ea "$LAB_A" $N 1 - connect --gso --local-port 40001 --local-addr "$LAB_A_IP" \
		--peer "$LAB_B_PUB:40002" --punch-interval 200
	sleep 0.3
	eng_start eb "$LAB_B" $N 2 - connect --gso --local-port 40002 --local-addr "$LAB_B_IP" \
		--peer "$LAB_A_PUB:40001" --punch-interval 200
	peer_wait ea; ra=$?
	peer_wait eb; rb=$?
	expect_exit "p2ptcp A" $ra
	expect_exit "p2ptcp B" $rb
	expect_eng_data ea "$N" 2
	expect_eng_data eb "$N" 1
	expect_offload ea
	expect_offload eb
	expect_log ea "to gateway 10.1.0.1" "that frames go to its NAT router"
	expect_no_tables "$LAB_A"
	expect_no_tables "$LAB_B"
	if [ -n "${1:-}" ]; then
		p=$(lab_exec "$LAB_NA" iptables -nvx -L FORWARD | awk '/statistic/ { n += $1 } END { print n + 0 }')
		[ "$p" -gt 0 ] || t_fail "nothing was dropped: no loss happened"
		grep -q "retransmit" "$LAB_DIR/ea.log" "$LAB_DIR/eb.log" ||
			t_fail "no retransmission in either log"
	fi
	return 0
}

case_offload() {
	LAB_VETH_OFFLOAD=keep
	"$1"
}

# An LD_PRELOAD library whose sendmmsg(2) fails with EINVAL on packet
# sockets after PTCP_TEST_REFUSE_AFTER calls: a kernel that refuses our
# frames, without a kernel that does.
build_shim() {
	local cc
	cc=$(command -v cc || command -v gcc || command -v clang) || return 1
	SHIM_DIR=$(mktemp -d /tmp/ptcp$$shim.XXXXXX) || return 1
	cat >"$SHIM_DIR/refuse.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

static int calls;

int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	static int (*real)(int, struct mmsghdr *, unsigned int, int);
	const char *after = getenv("PTCP_TEST_REFUSE_AFTER");
	int dom = 0;
	socklen_t len = sizeof(dom);

	if (!real)
		real = (int (*)(int, struct mmsghdr *, unsigned int, int))dlsym(RTLD_NEXT, "sendmmsg");
	if (after && getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) == 0 &&
	    dom == AF_PACKET && calls++ >= atoi(after)) {
		errno = EINVAL;
		return -1;
	}
	return real(fd, v, n, flags);
}
EOF
	"$cc" -shared -fPIC -O2 -o "$SHIM_DIR/refuse.so" "$SHIM_DIR/refuse.c" -ldl 2>"$SHIM_DIR/cc.log" ||
		return 1
	# socket(DOMAIN, *, PROTOCOL) from p2ptcp's own code fails with
	# EPROTONOSUPPORT, as where the kernel lacks ctnetlink or xfrm_user;
	# libnftables' netlink socket (from libmnl) is left alone.
	cat >"$SHIM_DIR/nosock.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);
	const char *what = getenv("PTCP_TEST_NO_SOCKET");
	int d, p;
	Dl_info info;

	if (!real)
		real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
	if (what && sscanf(what, "%d:%d", &d, &p) == 2 && d == domain && p == protocol &&
	    dladdr(__builtin_return_address(0), &info) && info.dli_fname &&
	    !strstr(info.dli_fname, "libmnl") && !strstr(info.dli_fname, "libnft")) {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	return real(domain, type, protocol);
}
EOF
	"$cc" -shared -fPIC -O2 -o "$SHIM_DIR/nosock.so" "$SHIM_DIR/nosock.c" -ldl 2>>"$SHIM_DIR/cc.log"
}

case_refused() {
	t_need_p2ptcp || return
	if [ ! -e "$SHIM_DIR/refuse.so" ]; then
		# shellcheck disable=SC2031
		echo "    $T_NAME: no C compiler for the LD_PRELOAD shim"
		return 77
	fi
	lab_link || return 1
	kp_start kb "$LAB_B" listen 5001 --send $N --seed 2
	wait_for 5 listening "$LAB_B" 5001 || t_fail "kernel listener not up"
	# (a sanitizer build wants its runtime first; the shim does not care)
	ENG_WRAP="env LD_PRELOAD=$SHIM_DIR/refuse.so PTCP_TEST_REFUSE_AFTER=50
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		eng_start ea "$LAB_A" $N 1 - connect --active --gso --local-port 40001 \
		--local-addr "$LAB_A_IP" --peer "$LAB_B_PUB:5001"
	finish_kernel ea kb "$LAB_B"
	expect_offload ea
	expect_log ea "offload: the kernel refused a frame on eth0: Invalid argument; sending through the raw socket" \
		"that offload ended on EINVAL"
}

# Half of the data, then the neighbour entry of the peer disappears; the
# next path refresh (once a second) finds none, and the rest goes through
# the raw socket, for which the kernel resolves the peer again.
case_neigh_gone() {
	local d re rk h=$((N / 2))
	t_need_p2ptcp || return
	lab_link || return 1
	d=$LAB_DIR
	"$KPEER" gen $N --seed 1 >"$d/data" || return 1
	kp_start kb "$LAB_B" listen 5001 --send $N --seed 2
	wait_for 5 listening "$LAB_B" 5001 || t_fail "kernel listener not up"
	mkfifo "$d/ea.in" "$d/ea.out" || return 1
	"$KPEER" hash <"$d/ea.out" >"$d/ea.hash" 2>&1 &
	lab_track $!
	{
		head -c $h "$d/data"
		: >"$d/half"
		wait_for 20 test -e "$d/go"
		tail -c +$((h + 1)) "$d/data"
	} >"$d/ea.in" 2>/dev/null &
	lab_track $!
	echo "+ p2ptcp connect --active --gso ... -v" >"$d/ea.log"
	ip netns exec "$LAB_A" "$P2PTCP" connect --active --gso --local-port 40001 \
		--local-addr "$LAB_A_IP" --peer "$LAB_B_PUB:5001" -v <"$d/ea.in" >"$d/ea.out" 2>>"$d/ea.log" &
	PID_ea=$!
	lab_track $PID_ea
	t_log "$d/ea.log"
	wait_for 20 test -e "$d/half" || t_fail "the first half was not taken"
	sleep 0.5
	ip -n "$LAB_A" neigh del "$LAB_B_IP" dev eth0 || t_fail "no neighbour entry to delete"
	sleep 1.2
	: >"$d/go"
	peer_wait ea; re=$?
	peer_wait kb; rk=$?
	expect_exit "p2ptcp" $re
	expect_exit "kernel" $rk
	expect_eng_data ea "$N" 2
	expect_kp_data kb "$N" 1
	expect_no_csum_errors "$LAB_B"
	expect_offload ea
	expect_log ea "offload: the next hop's neighbour entry is no longer valid; sending through the raw socket" \
		"that offload ended when the neighbour entry went"
	expect_no_tables "$LAB_A"
}

# A stateful firewall on our host that drops what conntrack calls INVALID:
# conntrack never sees our frames leave, so without being told otherwise it
# would find the peer's ACKs acknowledging unseen data, and the firewall
# would drop them (the connection stalls). p2ptcp turns window tracking off
# for its connection (ctnetlink) before it switches.
case_host_firewall() {
	local dropped
	t_need_p2ptcp || return
	lab_link || return 1
	ip netns exec "$LAB_A" iptables -A INPUT -m conntrack --ctstate INVALID -j DROP || return 1
	kp_start kb "$LAB_B" listen 5001 --send $N --seed 2
	wait_for 5 listening "$LAB_B" 5001 || t_fail "kernel listener not up"
	eng_start ea "$LAB_A" $N 1 - connect --active --gso --local-port 40001 \
		--local-addr "$LAB_A_IP" --peer "$LAB_B_PUB:5001"
	finish_kernel ea kb "$LAB_B"
	expect_offload ea
	expect_log ea "offload: this host tracks the connection (conntrack)" "that conntrack was told"
	dropped=$(ip netns exec "$LAB_A" iptables -vnxL INPUT | awk '/INVALID/ { print $1 }')
	[ "${dropped:-x}" = 0 ] || t_fail "the firewall dropped ${dropped:-?} INVALID packets"
}

# Our host NATs the connection (SNAT to a second address): frames that
# bypass netfilter would leave un-NATed, so there must be no offload.
case_host_nat() {
	t_need_p2ptcp || return
	lab_link || return 1
	ip -n "$LAB_A" addr add 10.0.0.3/24 dev eth0 || return 1
	ip netns exec "$LAB_A" iptables -t nat -A POSTROUTING -o eth0 -s "$LAB_A_IP" -p tcp \
		--sport 40001 -j SNAT --to-source 10.0.0.3 || return 1
	kp_start kb "$LAB_B" listen 5001 --send $N --seed 2
	wait_for 5 listening "$LAB_B" 5001 || t_fail "kernel listener not up"
	eng_start ea "$LAB_A" $N 1 - connect --active --gso --local-port 40001 \
		--local-addr "$LAB_A_IP" --peer "$LAB_B_PUB:5001"
	finish_kernel ea kb "$LAB_B"
	expect_log ea "offload: this host NATs the connection" "why offload was not used"
	grep -q "frames through the packet socket" "$LAB_DIR/ea.log" &&
		t_fail "frames went through a packet socket past our own NAT"
	return 0
}

# Offload by default (no --gso): on a host with no rules of its own but
# our table, offload, and no capability kept; with a firewall table
# (nftables or iptables-legacy... here iptables-nft, seen as nftables), an
# IPsec policy, or --no-gso, the raw socket throughout, and -v says why.
case_default() { # plain|nft|xfrm|no-gso
	local args=() pid
	t_need_p2ptcp || return
	lab_link || return 1
	case $1 in
	nft) ip netns exec "$LAB_A" iptables -A OUTPUT -p udp --dport 9 -j DROP || return 1 ;;
	xfrm) ip -n "$LAB_A" xfrm policy add dir out src 192.0.2.1/32 dst 192.0.2.2/32 proto udp \
		action block || return 1 ;;
	no-gso) args=(--no-gso) ;;
	esac
	kp_start kb "$LAB_B" listen 5001 --send $N --seed 2
	wait_for 5 listening "$LAB_B" 5001 || t_fail "kernel listener not up"
	eng_start ea "$LAB_A" $N 1 - connect --active "${args[@]}" --local-port 40001 \
		--local-addr "$LAB_A_IP" --peer "$LAB_B_PUB:5001"
	wait_for 5 dropped ea || t_fail "no privileges line in the log"
	eval "pid=\$PID_ea"
	[ -d "/proc/$pid" ] && expect_status p2ptcp "$pid" CapEff 0000000000000000
	finish_kernel ea kb "$LAB_B"
	case $1 in
	plain)
		expect_log ea "offload: on by default" "that offload is on by default"
		expect_offload ea ;;
	nft) expect_log ea "offload: off: this host's nftables may see the connection (table ip filter, chain OUTPUT" \
		"that the host's firewall keeps offload off" ;;
	xfrm) expect_log ea "offload: off: this host has IPsec (xfrm) policies or SAs" \
		"that the host's IPsec keeps offload off" ;;
	no-gso) grep -q "offload: " "$LAB_DIR/ea.log" && t_fail "offload considered despite --no-gso" ;;
	esac
	if [ "$1" != plain ] && grep -q "frames through the packet socket" "$LAB_DIR/ea.log"; then
		t_fail "frames went through a packet socket"
	fi
	return 0
}

# Peer and p2ptcp in one namespace: the route is local (loopback), not
# Ethernet; --gso changes nothing.
case_local() {
	t_need_p2ptcp || return
	lab_link || return 1
	kp_start kb "$LAB_A" listen 5001 --send $N --seed 2
	wait_for 5 listening "$LAB_A" 5001 || t_fail "kernel listener not up"
	eng_start ea "$LAB_A" $N 1 - connect --active --gso --local-port 40001 \
		--local-addr "$LAB_A_IP" --peer "$LAB_A_IP:5001"
	finish_kernel ea kb "$LAB_A"
	expect_log ea "offload: the peer is not reached by a unicast route; sending through the raw socket" \
		"why offload was not used"
	grep -q "frames through the packet socket" "$LAB_DIR/ea.log" &&
		t_fail "frames went through a packet socket on a local route"
	return 0
}

# gso_to_kernel: connect --active --gso to a kernel listener on the link,
# with ENG_WRAP as the caller set it; 64 MiB each way intact.
gso_to_kernel() {
	kp_start kb "$LAB_B" listen 5001 --send $N --seed 2
	wait_for 5 listening "$LAB_B" 5001 || t_fail "kernel listener not up"
	eng_start ea "$LAB_A" $N 1 - connect --active --gso --local-port 40001 \
		--local-addr "$LAB_A_IP" --peer "$LAB_B_PUB:5001"
	finish_kernel ea kb "$LAB_B"
}

# expect_no_frames NAME WHY: no offload, with the -v line saying WHY.
expect_no_frames() {
	expect_log "$1" "offload: $2; sending through the raw socket" "why offload was not used"
	if grep -q "frames through the packet socket" "$LAB_DIR/$1.log"; then
		t_fail "frames went through a packet socket: $2"
	fi
}

# An xfrm policy of our host covers the flow to the peer: our frames would
# bypass it (IPsec or a block), so no offload. (An "allow" policy without
# templates lets the raw socket's segments pass unchanged. This kernel has
# no ESP or AH, so no SA can be made here: test_pktsock.c has those.)
case_xfrm() {
	t_need_p2ptcp || return
	lab_link || return 1
	ip -n "$LAB_A" xfrm policy add src "$LAB_A_IP/32" dst "$LAB_B_IP/32" proto tcp dport 5001 \
		dir out action allow || return 1
	gso_to_kernel
	expect_no_frames ea "an IPsec (xfrm) policy or SA of this host may apply to the connection, and frames would bypass it"
	return 0
}

# Policies for another flow, or the other direction, do not stand in the
# way.
case_xfrm_other() {
	t_need_p2ptcp || return
	lab_link || return 1
	ip -n "$LAB_A" xfrm policy add src "$LAB_A_IP/32" dst 10.9.9.9/32 dir out action allow || return 1
	ip -n "$LAB_A" xfrm policy add src "$LAB_A_IP/32" dst "$LAB_B_IP/32" proto tcp dport 5002 \
		dir out action block || return 1
	ip -n "$LAB_A" xfrm policy add src "$LAB_B_IP/32" dst "$LAB_A_IP/32" dir in action allow || return 1
	gso_to_kernel
	expect_offload ea
}

# What cannot be asked is a no: ctnetlink or xfrm_user missing (their
# netlink socket fails, by the shim) means no offload.
case_cannot_ask() { # conntrack | xfrm
	local proto
	t_need_p2ptcp || return
	if [ ! -e "$SHIM_DIR/nosock.so" ]; then
		echo "    $T_NAME: no C compiler for the LD_PRELOAD shim"
		return 77
	fi
	lab_link || return 1
	# AF_NETLINK 16; NETLINK_NETFILTER 12, NETLINK_XFRM 6
	[ "$1" = conntrack ] && proto=12 || proto=6
	ENG_WRAP="env LD_PRELOAD=$SHIM_DIR/nosock.so PTCP_TEST_NO_SOCKET=16:$proto
		ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" gso_to_kernel
	if [ "$1" = conntrack ]; then
		expect_no_frames ea "cannot ask conntrack about the connection (Protocol not supported)"
	else
		expect_no_frames ea "cannot ask xfrm whether IPsec applies to the connection (Protocol not supported)"
	fi
	return 0
}

cleanup_shim() { [ -n "$SHIM_DIR" ] && rm -rf "$SHIM_DIR"; }

# --- bench ------------------------------------------------------------------------

# bench_run ROW OFFLOAD: one transfer; prints "Gbit/s snd-CPU-s rcv-CPU-s"
bench_run() {
	(
		local row=$1 n=$((${BENCH_MB:-1024} * MiB)) d out b x g=""
		LAB_VETH_OFFLOAD=$2
		LAB_PREFIX="ptcp$$b"
		lab_init >/dev/null || exit 1
		lab_link || exit 1
		d=$LAB_DIR
		case $row in *g) g=--gso ;; esac
		case $row in
		kk|ek|ekg)
			ip netns exec "$LAB_B" /usr/bin/time -o "$d/r.time" -f '%U %S' "$KPEER" listen 5001 \
				--discard --stats --timeout 120 >"$d/r.out" 2>/dev/null </dev/null &
			lab_track $!
			sleep 0.3
			if [ "$row" = kk ]; then
				head -c $n /dev/zero | ip netns exec "$LAB_A" /usr/bin/time -o "$d/s.time" -f '%U %S' \
					"$KPEER" connect "$LAB_B_IP:5001" --retry --send-stdin --timeout 120 >/dev/null 2>&1
			else
				# shellcheck disable=SC2086
				head -c $n /dev/zero | ip netns exec "$LAB_A" /usr/bin/time -o "$d/s.time" -f '%U %S' \
					"$P2PTCP" connect --active $g --local-port 40001 --local-addr "$LAB_A_IP" \
					--peer "$LAB_B_IP:5001" >/dev/null 2>&1
			fi
			lab_wait_pid "${LAB_PIDS[0]}" 30
			out=$(sed -n 's/^stats //p' "$d/r.out")
			b=$(sed -nE 's/^recv bytes=([0-9]+).*/\1/p' "$d/r.out")
			;;
		ke|keg)
			# shellcheck disable=SC2086
			{ ip netns exec "$LAB_B" /usr/bin/time -o "$d/r.time" -f '%U %S' "$P2PTCP" listen $g \
				--local-port 5001 --local-addr "$LAB_B_IP" </dev/null 2>/dev/null |
				"$KPEER" sink >"$d/r.out"; } &
			lab_track $!
			sleep 0.3
			head -c $n /dev/zero | ip netns exec "$LAB_A" /usr/bin/time -o "$d/s.time" -f '%U %S' \
				"$KPEER" connect "$LAB_B_IP:5001" --retry --send-stdin --timeout 120 >/dev/null 2>&1
			lab_wait_pid "${LAB_PIDS[0]}" 30
			out=$(cat "$d/r.out")
			b=$(sed -nE 's/^bytes=([0-9]+).*/\1/p' "$d/r.out")
			;;
		esac
		x=$(echo "$out" | sed -nE 's/.*xfer_secs=([0-9.]+).*/\1/p')
		[ "${b:-0}" = "$n" ] || { echo "- - -"; exit 0; }
		awk -v b="$b" -v x="$x" -v s="$(tail -1 "$d/s.time")" -v r="$(tail -1 "$d/r.time")" \
			-v gib="$(awk -v n=$n 'BEGIN { print n / 1073741824 }')" 'BEGIN {
			split(s, S, " "); split(r, R, " ")
			printf "%.2f %.2f %.2f\n", b * 8 / x / 1e9, (S[1] + S[2]) / gib, (R[1] + R[2]) / gib }'
	)
}

bench() {
	local off row res k label
	[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)"; return 1; }
	if [ ! -x "$P2PTCP" ] || [ ! -x "$KPEER" ]; then
		echo "bench: build $P2PTCP and $KPEER first (make test-build)"
		return 1
	fi
	echo "gso bench: ${BENCH_MB:-1024} MiB per run, $(nproc) CPUs, kernel $(uname -r)"
	printf '%-8s %-32s %8s %8s %10s %10s\n' offloads run Gbit/s "/kernel" "snd s/GiB" "rcv s/GiB"
	for off in keep off; do
		k=""
		for row in kk ek ekg ke keg; do
			for _ in $(seq "${BENCH_RUNS:-1}"); do
				res=$(bench_run $row $off)
				case $row in
				kk) label="kernel -> kernel"; k=${res%% *} ;;
				ek) label="p2ptcp -> kernel" ;;
				ekg) label="p2ptcp --gso -> kernel" ;;
				ke) label="kernel -> p2ptcp" ;;
				keg) label="kernel -> p2ptcp --gso" ;;
				esac
				# shellcheck disable=SC2086
				set -- $res
				printf '%-8s %-32s %8s %8s %10s %10s\n' "$off" "$label" "$1" \
					"$(awk -v a="$1" -v b="$k" 'BEGIN { if (b > 0 && a > 0) printf "%.0f%%", 100 * a / b; else print "-" }')" \
					"$2" "$3"
			done
		done
	done
}

if [ "${1:-}" = bench ]; then
	[ "$(id -u)" -eq 0 ] || { echo "bench: needs root"; exit 1; }
	bench
	exit
fi
t_init || exit 1
trap 'cleanup_shim' EXIT
build_shim || true
t_run "link: our --active --gso connect to a kernel listener, 64 MiB each way, checksums verified" case_active
t_run "link, veth offloads on: our --active --gso connect to a kernel listener" case_offload case_active
t_run "link: a kernel client to our listen --gso, 64 MiB each way" case_listen
t_run "nat-drop: p2ptcp --gso <-> p2ptcp --gso through both NATs, 64 MiB each way" case_nat
t_run "nat-drop, veth offloads on: GSO frames through both NATs, 64 MiB each way" case_offload case_nat
t_run "nat-drop, 1% loss both ways: p2ptcp --gso both ends, 16 MiB each way" case_nat 0.01
t_run "fallback: the kernel refuses frames (EINVAL): raw socket, data intact" case_refused
t_run "fallback: the neighbour entry goes in mid-transfer: raw socket, data intact" case_neigh_gone
t_run "host firewall dropping conntrack INVALID: offload works, nothing dropped" case_host_firewall
t_run "no offload when our own host NATs the connection, data intact" case_host_nat
t_run "no offload on a local route (peer on the same host), data intact" case_local
t_run "default: offload on a host without rules of its own, no capability kept" case_default plain
t_run "default: no offload beside a firewall table of the host (iptables-nft), data intact" case_default nft
t_run "default: no offload with an IPsec policy on the host, data intact" case_default xfrm
t_run "--no-gso: no offload, data intact" case_default no-gso
t_run "no offload when an xfrm (IPsec) policy of our host covers the flow, data intact" case_xfrm
t_run "xfrm policies for other flows and directions: offload works" case_xfrm_other
t_run "no offload when conntrack cannot be asked (no ctnetlink), data intact" case_cannot_ask conntrack
t_run "no offload when xfrm cannot be asked (no xfrm_user), data intact" case_cannot_ask xfrm
t_summary
