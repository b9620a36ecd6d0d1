# shellcheck shell=bash disable=SC2034
# (SC2034: the variables set here are for the scripts that source it)
# tests/netns/lab.sh: a network-namespace lab for the p2ptcp tests.
#
# Source it from bash, call lab_init, then build one topology:
#
#   lab_link                 A 10.0.0.1/24 <-- one veth --> B 10.0.0.2/24
#   lab_two_nat [drop|rst] [with_s]
#                            A 10.1.0.2 - NAT A (203.0.113.1) - "internet"
#                            203.0.113.0/24 - NAT B (203.0.113.2) - B 10.2.0.2,
#                            and with "with_s" a host S 203.0.113.10 on the
#                            internet
#
# Everything it makes carries a per-run prefix (LAB_PREFIX, default
# "ptcp$$") and is removed on every exit path: lab_init installs traps on
# EXIT, INT and TERM. A caller that needs its own cleanup registers it with
# lab_at_exit (run before the lab is torn down) instead of replacing the
# trap; an EXIT trap the caller had before lab_init is kept and run too.
# Every wait is bounded.
#
# After lab_link / lab_two_nat these are set:
#   LAB_A LAB_B           the host namespaces
#   LAB_A_IP LAB_B_IP     their own addresses
#   LAB_A_PUB LAB_B_PUB   the address the other side dials to reach them
#                         (the NAT's outside address behind a NAT; MASQUERADE
#                         keeps the port when it is free)
#   LAB_CAP_NS LAB_CAP_IF where a capture sees all traffic between A and B
#                         on the outside of NAT A (or on the link)
#   lab_two_nat also: LAB_NA LAB_NB (routers), LAB_INET (bridge), LAB_S,
#   LAB_S_IP (with_s).
#
# Run as a program, `bash lab.sh sweep` removes namespaces left by runs that
# were killed with SIGKILL (those whose "ptcpPID" owner no longer exists).

LAB_PREFIX=${LAB_PREFIX:-ptcp$$}
LAB_DIR=""
LAB_NETNS=()
LAB_PIDS=()
LAB_HOOKS=()
LAB_CAP_PIDS=()
LAB_CLEANED=0
LAB_PREV_EXIT_TRAP=""
LAB_SOURCED_AT=$BASH_SUBSHELL
# veth transmit offloads: "off" (the default) makes every veth carry what a
# real wire carries: complete checksums and MSS-sized segments. A veth
# otherwise passes the kernel's segments on with the checksum left for the
# "hardware" and up to 64 KiB long (TSO), and a raw socket on the other side
# sees exactly that. "keep" leaves the kernel's defaults (kernel-only
# baselines). Needs ethtool or the lab's own tests/tools/ethoff.
LAB_VETH_OFFLOAD=${LAB_VETH_OFFLOAD:-off}
LAB_ETHOFF=${LAB_ETHOFF:-${BUILD:-build/default}/tests/tools/ethoff}

lab_log() { echo "lab: $*" >&2; }

# lab_init: check privileges, make the scratch directory, install the traps.
lab_init() {
	if [ "$(id -u)" -ne 0 ]; then
		lab_log "needs root (CAP_NET_ADMIN) to make namespaces"
		return 1
	fi
	local t
	for t in ip nft iptables tcpdump timeout; do
		command -v "$t" >/dev/null 2>&1 || { lab_log "missing tool: $t"; return 1; }
	done
	LAB_DIR=$(mktemp -d "/tmp/${LAB_PREFIX}.XXXXXX") || return 1
	# keep a trap the caller set before us; in a subshell `trap -p` still
	# shows the parent's, which is the parent's to run
	LAB_PREV_EXIT_TRAP=""
	if [ "$BASH_SUBSHELL" -eq "$LAB_SOURCED_AT" ]; then
		LAB_PREV_EXIT_TRAP=$(trap -p EXIT | sed -E "s/^trap -- '(.*)' EXIT$/\1/")
	fi
	trap 'lab__on_exit' EXIT
	trap 'lab__on_signal 130' INT
	trap 'lab__on_signal 143' TERM
	trap 'lab__on_signal 129' HUP
}

# lab_at_exit CMD: run CMD (with eval) on exit, before the lab is removed.
lab_at_exit() { LAB_HOOKS+=("$1"); }

lab__on_signal() {
	lab_log "interrupted, cleaning up"
	exit "$1"    # runs the EXIT trap
}

lab__on_exit() {
	local rc=$?
	local h
	for h in "${LAB_HOOKS[@]}"; do
		eval "$h" || true
	done
	lab_cleanup
	[ -n "$LAB_PREV_EXIT_TRAP" ] && eval "$LAB_PREV_EXIT_TRAP"
	exit $rc
}

# lab_cleanup: stop what the lab started and delete its namespaces. Safe to
# call more than once.
lab_cleanup() {
	local p ns pids
	[ "$LAB_CLEANED" = 1 ] && return 0
	LAB_CLEANED=1
	for p in "${LAB_CAP_PIDS[@]}" "${LAB_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${LAB_CAP_PIDS[@]}" "${LAB_PIDS[@]}"; do
		lab_wait_pid "$p" 3 >/dev/null 2>&1 || true
	done
	for ns in "${LAB_NETNS[@]}"; do
		# Anything still running in our namespaces was started by this
		# run (through lab_exec or a test): end it by pid.
		for _ in 1 2 3; do
			pids=$(ip netns pids "$ns" 2>/dev/null)
			[ -z "$pids" ] && break
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null
			sleep 0.1
		done
		ip netns del "$ns" 2>/dev/null
	done
	LAB_NETNS=()
	if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ] && [ -z "${LAB_KEEP_DIR:-}" ]; then
		rm -rf "$LAB_DIR"
	fi
}

# lab_exec NS CMD...: run CMD inside namespace NS.
lab_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# lab_bg NS OUT ERR CMD...: start CMD in NS in the background with stdout
# to OUT and stderr to ERR; sets LAB_LAST_PID (the command's own pid: ip
# netns exec execs it) and remembers it for cleanup.
lab_bg() {
	local ns=$1 out=$2 err=$3
	shift 3
	ip netns exec "$ns" "$@" >"$out" 2>"$err" </dev/null &
	LAB_LAST_PID=$!
	LAB_PIDS+=("$LAB_LAST_PID")
}

# lab_track PID: remember a background pid the caller started itself.
lab_track() { LAB_PIDS+=("$1"); }

# wait_for TIMEOUT_S CMD...: poll CMD every 50 ms until it succeeds; 1 on
# timeout.
wait_for() {
	local limit=$1
	shift
	local end=$((SECONDS + limit))
	# SECONDS has a one-second grain: also count the polls
	local n=0 max=$((limit * 20 + 1))
	while :; do
		"$@" && return 0
		n=$((n + 1))
		if [ "$SECONDS" -gt "$end" ] || [ "$n" -ge "$max" ]; then
			return 1
		fi
		sleep 0.05
	done
}

# lab_wait_pid PID TIMEOUT_S: wait for a child to exit; prints nothing,
# returns its exit status, or 124 after TIMEOUT_S (the process is then
# killed: TERM, then KILL a second later).
lab_wait_pid() {
	local pid=$1 limit=$2
	if ! wait_for "$limit" lab__gone "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		wait_for 1 lab__gone "$pid" || kill -KILL "$pid" 2>/dev/null
		{ wait "$pid"; } 2>/dev/null
		return 124
	fi
	{ wait "$pid"; } 2>/dev/null
}

lab__gone() { ! kill -0 "$1" 2>/dev/null; }

# --- building blocks -------------------------------------------------------------

lab__ns_add() { # short name; sets LAB_NS_LAST (no subshell: it records it)
	local ns="${LAB_PREFIX}-$1"
	ip netns add "$ns" || return 1
	LAB_NETNS+=("$ns")
	LAB_NS_LAST=$ns
	ip -n "$ns" link set lo up
	# no IPv6 chatter (router solicitations, DAD) in the captures
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1
	return 0
}

# lab_ipv6 NS: IPv6 on again in NS (lab__ns_add turns it off), with ::1
# on lo, and without duplicate address detection on any interface, now
# or later: a router whose link-local address is still tentative holds
# forwarded packets until it can ask for the next hop (a second here).
# Add addresses with `nodad` so that they are usable at once. Idempotent.
lab_ipv6() {
	local k
	for k in all default $(ip -n "$1" -o link show | sed -E 's/^[0-9]+: ([^:@]+).*/\1/'); do
		ip netns exec "$1" sysctl -qw "net.ipv6.conf.$k.accept_dad=0" >/dev/null || return 1
	done
	for k in all default lo; do
		ip netns exec "$1" sysctl -qw "net.ipv6.conf.$k.disable_ipv6=0" >/dev/null || return 1
	done
	ip netns exec "$1" ip -6 addr show dev lo | grep -q '::1/128'
}

# lab__veth NS1 IF1 NS2 IF2: a veth pair between two namespaces (never
# touching the namespace the tests run from).
lab__veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
	if [ "$LAB_VETH_OFFLOAD" = off ]; then
		lab__tx_off "$1" "$2" && lab__tx_off "$3" "$4" || return 1
	fi
}

lab__tx_off() {
	if [ -x "$LAB_ETHOFF" ]; then
		ip netns exec "$1" "$LAB_ETHOFF" "$2"
	elif command -v ethtool >/dev/null 2>&1; then
		ip netns exec "$1" ethtool -K "$2" tx off >/dev/null
	else
		lab_log "cannot turn off veth offloads: build $LAB_ETHOFF (make test-build) or install ethtool"
		return 1
	fi
}

lab__addr() { ip -n "$1" addr add "$3" dev "$2"; }

# --- topologies ---------------------------------------------------------------

# lab_link: two hosts on one veth link.
lab_link() {
	lab__ns_add a && LAB_A=$LAB_NS_LAST || return 1
	lab__ns_add b && LAB_B=$LAB_NS_LAST || return 1
	lab__veth "$LAB_A" eth0 "$LAB_B" eth0 || return 1
	lab__addr "$LAB_A" eth0 10.0.0.1/24
	lab__addr "$LAB_B" eth0 10.0.0.2/24
	LAB_A_IP=10.0.0.1 LAB_B_IP=10.0.0.2
	LAB_A_PUB=$LAB_A_IP LAB_B_PUB=$LAB_B_IP
	LAB_A_IF=eth0 LAB_B_IF=eth0
	LAB_CAP_NS=$LAB_B LAB_CAP_IF=eth0
	LAB_TOPO="link"
}

# lab_link6: lab_link with IPv6 too: A 2001:db8::1/64, B 2001:db8::2/64
# (nodad: usable at once). Sets LAB_A_IP6 LAB_B_IP6.
lab_link6() {
	lab_link || return 1
	lab_ipv6 "$LAB_A" && lab_ipv6 "$LAB_B" || return 1
	ip -n "$LAB_A" addr add 2001:db8::1/64 dev eth0 nodad || return 1
	ip -n "$LAB_B" addr add 2001:db8::2/64 dev eth0 nodad || return 1
	LAB_A_IP6=2001:db8::1 LAB_B_IP6=2001:db8::2
}

# lab__router6 NS LANADDR/64 WANADDR/64 GW: the router's IPv6 side, the
# usual home router's: no NAT, a stateful firewall (ip6tables with
# conntrack) that lets out what the LAN sends and in only its replies.
lab__router6() {
	local ns=$1
	lab_ipv6 "$ns" || return 1
	ip -n "$ns" addr add "$2" dev lan0 nodad || return 1
	ip -n "$ns" addr add "$3" dev wan0 nodad || return 1
	ip -n "$ns" -6 route add default via "$4" || return 1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null || return 1
	ip netns exec "$ns" ip6tables-restore <<EOF6 || return 1
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -i lan0 -o wan0 -j ACCEPT
COMMIT
EOF6
}

# lab_two_nat_ipv6: after lab_two_nat (with the default routed internet),
# IPv6 beside IPv4: each LAN has a /64 of its own (A 2001:db8:1::2, B
# 2001:db8:2::2), each router a stateful IPv6 firewall and no NAT
# (lab__router6), the internet routes between the routers' outside /64s
# (2001:db8:f1::/64 for NAT A, f2 for NAT B, f3 for S; the internet's own
# end is ::fe in each). Sets LAB_A_IP6 LAB_B_IP6 (also their public
# addresses: no NAT) and, with S, LAB_S_IP6 (2001:db8:f3::10).
lab_two_nat_ipv6() {
	local i p ns lan
	if [ "$LAB_INTERNET" != router ]; then
		lab_log "lab_two_nat_ipv6: needs LAB_INTERNET=router"
		return 1
	fi
	lab_ipv6 "$LAB_INET" && lab_ipv6 "$LAB_A" && lab_ipv6 "$LAB_B" || return 1
	ip netns exec "$LAB_INET" sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null || return 1
	for i in 1 2; do
		if [ $i = 1 ]; then p=pa ns=$LAB_NA lan=$LAB_A; else p=pb ns=$LAB_NB lan=$LAB_B; fi
		ip -n "$LAB_INET" addr add "2001:db8:f$i::fe/64" dev "$p" nodad || return 1
		ip -n "$LAB_INET" -6 route add "2001:db8:$i::/64" via "2001:db8:f$i::1" || return 1
		lab__router6 "$ns" "2001:db8:$i::1/64" "2001:db8:f$i::1/64" "2001:db8:f$i::fe" || return 1
		ip -n "$lan" addr add "2001:db8:$i::2/64" dev eth0 nodad || return 1
		ip -n "$lan" -6 route add default via "2001:db8:$i::1" || return 1
	done
	LAB_A_IP6=2001:db8:1::2 LAB_B_IP6=2001:db8:2::2
	if [ -n "${LAB_S:-}" ]; then
		lab_ipv6 "$LAB_S" || return 1
		ip -n "$LAB_INET" addr add 2001:db8:f3::fe/64 dev ps nodad || return 1
		ip -n "$LAB_S" addr add 2001:db8:f3::10/64 dev eth0 nodad || return 1
		ip -n "$LAB_S" -6 route add default via 2001:db8:f3::fe || return 1
		LAB_S_IP6=2001:db8:f3::10
	fi
}

# lab__router NS LANIF LANADDR WANIF WANADDR VARIANT: a NAT router with a
# stateful firewall.
lab__router() {
	local ns=$1 lan=$2 lanaddr=$3 wan=$4 wanaddr=$5 variant=$6
	lab__addr "$ns" "$lan" "$lanaddr"
	lab__addr "$ns" "$wan" "$wanaddr"
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 >/dev/null || return 1
	ip netns exec "$ns" iptables-restore <<EOF || return 1
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o $wan -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -i $lan -o $wan -j ACCEPT
$( [ "$variant" = drop ] && echo "-A INPUT -p tcp --syn -j DROP" )
COMMIT
EOF
}

# lab__inet_port NAME ADDR: connect the "internet" port NAME to the host
# that has ADDR on its side.
lab__inet_port() {
	if [ "$LAB_INTERNET" = bridge ]; then
		ip -n "$LAB_INET" link set "$1" master br0
	else
		# a routed internet: a host route to each attached address and
		# proxy ARP, so the hosts still see one on-link /24 while every
		# packet between them crosses one router (TTL - 1)
		ip -n "$LAB_INET" addr add 203.0.113.254/32 dev "$1"
		ip -n "$LAB_INET" route add "$2/32" dev "$1"
		ip netns exec "$LAB_INET" sysctl -qw "net.ipv4.conf.$1.proxy_arp=1" >/dev/null
		# answer at once (the default holds proxy replies up to 0.8 s)
		ip netns exec "$LAB_INET" sysctl -qw "net.ipv4.neigh.$1.proxy_delay=0" >/dev/null
	fi
}

# lab_two_nat [drop|rst] [with_s]: two hosts each behind its own NAT.
#   drop: the routers silently drop unsolicited SYNs (RFC 5382 REQ-4);
#   rst:  the routers' own kernels answer them with a RST (the default).
# LAB_INTERNET=router (default) puts one router between the NATs (so a SYN
# with a small TTL can open its own NAT's mapping and die before the
# peer's NAT, the classic trick against RST-answering NATs: from a host,
# TTL 2 passes its NAT and expires in the internet); LAB_INTERNET=bridge
# makes the internet a plain bridge (no hop between the NATs).
lab_two_nat() {
	local variant=${1:-rst} with_s=${2:-}
	case $variant in drop|rst) ;; *) lab_log "lab_two_nat: unknown variant '$variant'"; return 1 ;; esac
	LAB_INTERNET=${LAB_INTERNET:-router}
	case $LAB_INTERNET in bridge|router) ;; *) lab_log "unknown LAB_INTERNET '$LAB_INTERNET'"; return 1 ;; esac
	lab__ns_add a && LAB_A=$LAB_NS_LAST || return 1
	lab__ns_add b && LAB_B=$LAB_NS_LAST || return 1
	lab__ns_add na && LAB_NA=$LAB_NS_LAST || return 1
	lab__ns_add nb && LAB_NB=$LAB_NS_LAST || return 1
	lab__ns_add inet && LAB_INET=$LAB_NS_LAST || return 1
	if [ "$LAB_INTERNET" = bridge ]; then
		ip -n "$LAB_INET" link add br0 type bridge || return 1
		ip -n "$LAB_INET" link set br0 up
	else
		ip netns exec "$LAB_INET" sysctl -qw net.ipv4.ip_forward=1 >/dev/null || return 1
	fi
	lab__veth "$LAB_A" eth0 "$LAB_NA" lan0 || return 1
	lab__veth "$LAB_B" eth0 "$LAB_NB" lan0 || return 1
	lab__veth "$LAB_NA" wan0 "$LAB_INET" pa || return 1
	lab__veth "$LAB_NB" wan0 "$LAB_INET" pb || return 1
	lab__inet_port pa 203.0.113.1 || return 1
	lab__inet_port pb 203.0.113.2 || return 1
	lab__addr "$LAB_A" eth0 10.1.0.2/24
	lab__addr "$LAB_B" eth0 10.2.0.2/24
	ip -n "$LAB_A" route add default via 10.1.0.1
	ip -n "$LAB_B" route add default via 10.2.0.1
	lab__router "$LAB_NA" lan0 10.1.0.1/24 wan0 203.0.113.1/24 "$variant" || return 1
	lab__router "$LAB_NB" lan0 10.2.0.1/24 wan0 203.0.113.2/24 "$variant" || return 1
	if [ "$with_s" = with_s ]; then
		lab__ns_add s && LAB_S=$LAB_NS_LAST || return 1
		lab__veth "$LAB_S" eth0 "$LAB_INET" ps || return 1
		lab__inet_port ps 203.0.113.10 || return 1
		lab__addr "$LAB_S" eth0 203.0.113.10/24
		LAB_S_IP=203.0.113.10
	fi
	LAB_A_IP=10.1.0.2 LAB_B_IP=10.2.0.2
	LAB_A_PUB=203.0.113.1 LAB_B_PUB=203.0.113.2
	LAB_A_IF=eth0 LAB_B_IF=eth0
	LAB_CAP_NS=$LAB_INET LAB_CAP_IF=pa
	LAB_TOPO="nat-$variant"
}

# lab_seq_nat NS PUBLIC BASE [SKIP]: after lab_two_nat, the NAT in NS
# (LAB_NA or LAB_NB) gives every new TCP flow out of wan0 the next port of
# BASE..BASE+255+SKIP in turn, instead of MASQUERADE: a symmetric NAT with
# a predictable (sequential) allocation. The counter is shared by every
# flow, the rendezvous connections included. With SKIP, the fourth flow
# and those after it get SKIP ports more, as if SKIP other flows had come
# between the third and the fourth (a node's registration and its two
# NAT samples are its first three). (`snat to IP:numgen ...` itself gives
# the port in the wrong byte order on these kernels; a map of ports does
# not.)
lab_seq_nat() {
	local ns=$1 pub=$2 base=$3 skip=${4:-0} i ports=""
	for ((i = 0; i < 256; i++)); do
		ports+="${ports:+, }$i : $((base + i + (i >= 3 ? skip : 0)))"
	done
	ip netns exec "$ns" iptables -t nat -D POSTROUTING 1 || return 1
	ip netns exec "$ns" nft -f - <<-EOF || return 1
		table ip lab_seqnat {
			chain post {
				type nat hook postrouting priority srcnat; policy accept;
				oifname "wan0" meta l4proto tcp snat to $pub : numgen inc mod 256 map { $ports }
			}
		}
	EOF
}

# lab_loss NS IFACE P: drop a random fraction P (0..1) of the packets that
# NS forwards after arriving on IFACE. Call it for both interfaces of a
# router for loss both ways.
lab_loss() {
	ip netns exec "$1" iptables -I FORWARD 1 -i "$2" \
		-m statistic --mode random --probability "$3" -j DROP
}

# lab_delay NS MS [QUEUE]: hold every packet NS forwards for MS ms, in
# order (tests/tools/nfqdelay on NFQUEUE QUEUE, default 0; this kernel has
# no netem). On the internet router of lab_two_nat (LAB_INTERNET=router,
# the default) both directions cross it: the round trip grows by 2 * MS.
LAB_NFQDELAY=${LAB_NFQDELAY:-${BUILD:-build/default}/tests/tools/nfqdelay}
lab_delay() {
	local q=${3:-0}
	[ -x "$LAB_NFQDELAY" ] || { lab_log "$LAB_NFQDELAY missing (make test-build)"; return 1; }
	lab_bg "$1" /dev/null "$LAB_DIR/nfqdelay-$q.log" "$LAB_NFQDELAY" "$q" "$2"
	if ! wait_for 5 grep -qs "nfqdelay: queue" "$LAB_DIR/nfqdelay-$q.log"; then
		lab_log "nfqdelay did not start: $(cat "$LAB_DIR/nfqdelay-$q.log")"
		return 1
	fi
	ip netns exec "$1" iptables -A FORWARD -j NFQUEUE --queue-num "$q"
}

# lab_wire MS: with lab_two_nat on one switch (LAB_INTERNET=bridge), a wire
# between the NATs: each NAT holds what arrives on its outside link for MS
# ms (tests/tools/nfqdelay on NFQUEUE 3, in the raw table, before conntrack
# sees it), so a packet between the NATs is in flight as on a real LAN. On
# the lab's bare bridge a packet crosses from one NAT to the other within a
# few microseconds of one CPU's packet processing, far less than any wire.
lab_wire() {
	local ns
	[ -x "$LAB_NFQDELAY" ] || { lab_log "$LAB_NFQDELAY missing (make test-build)"; return 1; }
	for ns in "$LAB_NA" "$LAB_NB"; do
		lab_bg "$ns" /dev/null "$LAB_DIR/nfqwire-${ns##*-}.log" "$LAB_NFQDELAY" 3 "$1"
		if ! wait_for 5 grep -qs "nfqdelay: queue" "$LAB_DIR/nfqwire-${ns##*-}.log"; then
			lab_log "nfqdelay did not start: $(cat "$LAB_DIR/nfqwire-${ns##*-}.log")"
			return 1
		fi
		ip netns exec "$ns" iptables -t raw -A PREROUTING -i wan0 -j NFQUEUE --queue-num 3 || return 1
	done
}

# lab_drop_time_exceeded NS: drop ICMP time-exceeded arriving at host NS.
# The Linux kernel aborts a connect() in SYN-SENT on any ICMP error, so a
# kernel peer using the low-TTL trick needs this; a userspace engine simply
# ignores the ICMP.
lab_drop_time_exceeded() {
	ip netns exec "$1" iptables -A INPUT -p icmp --icmp-type time-exceeded -j DROP
}

# --- holding SYNs or FINs: deterministic simultaneous open and close -----------

# lab_hold NS syn|fin: drop every bare SYN (no ACK) or every FIN arriving at
# NS, before conntrack and the raw sockets see it, and count them; the
# senders keep retransmitting. Once both ends have sent one (lab_held),
# lab_release lets the retransmissions cross: each end then receives the
# other's SYN in SYN-SENT (RFC 9293 figure 8) or FIN in FIN-WAIT-1 (figure
# 13). A capture on the link still sees the held segments.
lab_hold() {
	local match
	case $2 in
	syn) match='tcp flags & (syn | ack) == syn' ;;
	fin) match='tcp flags & fin == fin' ;;
	*) lab_log "lab_hold: syn or fin, not '$2'"; return 1 ;;
	esac
	ip netns exec "$1" nft -f - <<EOF2
table inet lab_hold {
	chain pre {
		type filter hook prerouting priority -400; policy accept;
		$match counter drop
	}
}
EOF2
}

# lab_held NS: how many segments lab_hold dropped so far.
lab_held() {
	local n
	n=$(ip netns exec "$1" nft list table inet lab_hold 2>/dev/null |
		sed -nE 's/.*counter packets ([0-9]+).*/\1/p' | head -1)
	echo "${n:-0}"
}

# lab_both_held NS1 NS2: both have held at least one segment.
lab_both_held() { [ "$(lab_held "$1")" -ge 1 ] && [ "$(lab_held "$2")" -ge 1 ]; }

lab_release() { ip netns exec "$1" nft delete table inet lab_hold; }

# --- captures -----------------------------------------------------------------------

# lab_capture_start NS IFACE FILE [FILTER...]: tcpdump on IFACE in NS to
# FILE (headers only); returns once tcpdump listens. Sets LAB_CAP_PID.
lab_capture_start() {
	local ns=$1 ifc=$2 file=$3
	shift 3
	ip netns exec "$ns" tcpdump -i "$ifc" -n -U --immediate-mode -s 128 -Z root -w "$file" "$@" \
		>/dev/null 2>"$file.log" </dev/null &
	LAB_CAP_PID=$!
	LAB_CAP_PIDS+=("$LAB_CAP_PID")
	if ! wait_for 5 grep -qs "listening on" "$file.log"; then
		lab_log "capture on $ns/$ifc did not start: $(cat "$file.log")"
		return 1
	fi
}

# lab_capture_stop [PID]: stop a capture (default: the last one) and wait
# until its file is complete.
lab_capture_stop() {
	local pid=${1:-$LAB_CAP_PID}
	kill -INT "$pid" 2>/dev/null
	lab_wait_pid "$pid" 5 >/dev/null
	return 0
}

# lab_pcap_count FILE [FILTER...]: number of packets in FILE matching FILTER.
lab_pcap_count() {
	local file=$1
	shift
	tcpdump -n -r "$file" "$@" 2>/dev/null | wc -l
}

# lab_tcp_flags MASK VALUE: a filter for TCP segments whose flags & MASK
# == VALUE (numbers: FIN 1, SYN 2, RST 4, ACK 16), IPv4 or IPv6. libpcap's
# tcp[] does not index IPv6; a segment right after the fixed IPv6 header
# has its flags at ip6[53] (what the lab's hosts send: no extension
# headers).
lab_tcp_flags() {
	echo "((ip and tcp[13] & $1 == $2) or (ip6 and ip6[6] == 6 and ip6[53] & $1 == $2))"
}

# Captures of the handshakes and teardowns, IPv4 and IPv6: SYN, FIN or RST.
LAB_SYNFIN="((ip and tcp[13] & 7 != 0) or (ip6 and ip6[6] == 6 and ip6[53] & 7 != 0))"

# lab_pcap_fins FILE [SRC]: FIN segments (from SRC if given).
lab_pcap_fins() {
	lab_pcap_count "$1" "$(lab_tcp_flags 1 1)${2:+ and src host $2}"
}

# lab_pcap_rsts FILE [SRC]: RST segments (from SRC if given).
lab_pcap_rsts() {
	lab_pcap_count "$1" "$(lab_tcp_flags 4 4)${2:+ and src host $2}"
}

# lab_pcap_synacks FILE [SRC]: SYN-ACK segments (from SRC if given).
lab_pcap_synacks() {
	lab_pcap_count "$1" "$(lab_tcp_flags 18 18)${2:+ and src host $2}"
}

# lab_pcap_first_fin FILE: source address of the first FIN in FILE.
lab_pcap_first_fin() {
	tcpdump -n -r "$1" "$(lab_tcp_flags 1 1)" 2>/dev/null | head -1 |
		sed -nE 's/.* IP6? ([0-9a-f.:]+)\.[0-9]+ > .*/\1/p'
}

# lab_pcap_syn_to_est FILE: seconds from the first SYN to the first segment
# without SYN (the handshake is over by then), or nothing.
lab_pcap_syn_to_est() {
	tcpdump -n -tt -r "$1" tcp 2>/dev/null | awk '
		/Flags \[S/ { if (t0 == "") t0 = $1; next }
		t0 != "" { printf "%.6f\n", $1 - t0; exit }'
}

# lab_nft_tables NS: the nftables tables in NS, one "family name" a line.
lab_nft_tables() {
	ip netns exec "$1" nft list tables 2>/dev/null | sed -nE 's/^table //p'
}

# has_table NS: a table of p2ptcp's (p2ptcp_<pid>_<port>) exists in NS.
has_table() { lab_nft_tables "$1" | grep -q 'p2ptcp_'; }

# --- housekeeping ---------------------------------------------------------------------

# lab_sweep: delete namespaces "ptcpPID-*" and "ptcpPIDcN-*" whose PID is
# not running.
lab_sweep() {
	local ns pid
	for ns in $(ip netns list | awk '{print $1}'); do
		pid=$(echo "$ns" | sed -nE 's/^ptcp([0-9]+)[c-].*/\1/p')
		[ -z "$pid" ] && continue
		kill -0 "$pid" 2>/dev/null && continue
		lab_log "removing stale namespace $ns"
		ip netns del "$ns"
	done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case ${1:-} in
	sweep) lab_sweep ;;
	*) echo "usage: bash $0 sweep   (source it for the library)" >&2; exit 2 ;;
	esac
fi

# --- test harness for tests/netns/test_*.sh -------------------------------------------
#
# t_run NAME FUNC [ARGS...] runs one case in a subshell with a lab of its own
# (prefix "ptcp<pid>c<n>"), bounded by T_CASE_LIMIT seconds, and prints
# "ok   NAME", "skip NAME (why)" or "FAIL NAME" followed by the reasons and
# the logs the case registered (t_log). FUNC fails the case with t_fail
# (it may go on checking) and skips it by returning 77. t_summary prints
# the closing "netns: P passed, F failed" line and sets the exit status.

BUILD=${BUILD:-build/default}
P2PTCP=${P2PTCP:-$BUILD/p2ptcp}
KPEER=${KPEER:-$BUILD/tests/tools/kpeer}
T_CASE_LIMIT=${T_CASE_LIMIT:-240}
T_XFER_LIMIT=${T_XFER_LIMIT:-60}      # one 16 MiB transfer, seconds
T_PASSED=0 T_FAILED=0 T_SKIPPED=0 T_N=0 T_CHILD=""
MiB=1048576

t_init() {
	trap 't__abort 130' INT
	trap 't__abort 143' TERM
	if [ "$(id -u)" -ne 0 ]; then
		echo "netns: needs root"
		return 1
	fi
	if [ ! -x "$KPEER" ]; then
		echo "netns: $KPEER is missing (make test-build)"
		return 1
	fi
}

# --- rendezvous-mode tests (test_punch, test_serve, test_secure) -----------------

RDVD=${RDVD:-$BUILD/rendezvousd}

# rdv_init: t_init, and rendezvousd must be built.
rdv_init() {
	t_init || return 1
	if [ ! -x "$RDVD" ]; then
		echo "netns: $RDVD is missing (make)"
		return 1
	fi
}

# key NAME: a key pair in $LAB_DIR/NAME/p2ptcp (XDG_CONFIG_HOME=$LAB_DIR/NAME);
# sets ID_NAME.
key() {
	local id
	id=$(XDG_CONFIG_HOME="$LAB_DIR/$1" "$P2PTCP" keygen 2>/dev/null) || { t_fail "keygen $1"; return 1; }
	eval "ID_$1=\$id"
}

# listening NS PORT: something listens on TCP PORT in NS.
listening() { ip netns exec "$1" ss -Htln "( sport = :$2 )" | grep -q .; }

# waiting NAME: the p2ptcp NAME (-v log) registered and waits for a peer.
waiting() { grep -q "waiting for a peer" "$LAB_DIR/$1.log" 2>/dev/null; }

# est_time NAME: seconds from the program's start to ESTABLISHED (-v log).
est_time() {
	sed -nE 's/.*\[ *([0-9.]+)\] ([^ ]+: )?state [A-Z-]+ -> ESTABLISHED.*/\1/p' "$LAB_DIR/$1.log" | head -1
}

# lab_resolver NS [HOSTS-LINE...]: NS gets a resolver of its own: `ip
# netns exec` bind-mounts each file of /etc/netns/NS/ over the one in
# /etc/, and c-ares reads those: a resolv.conf naming 127.0.0.1 (where
# nothing serves DNS: queries are refused at once), an nsswitch.conf of
# files first, and a hosts file of localhost and the lines given. The
# directory is removed on exit (t_run also removes those of a case it
# killed), and /etc/netns too if this run made it and it is empty.
ETC_NETNS=${ETC_NETNS:-/etc/netns}
lab_resolver() {
	local ns=$1 line made=""
	shift
	[ -d "$ETC_NETNS" ] || made=1
	mkdir -p "$ETC_NETNS/$ns" || return 1
	lab_at_exit "rm -rf '$ETC_NETNS/$ns'"
	[ -n "$made" ] && lab_at_exit "rmdir '$ETC_NETNS' 2>/dev/null"
	printf 'nameserver 127.0.0.1\n' >"$ETC_NETNS/$ns/resolv.conf"
	printf 'hosts: files dns\n' >"$ETC_NETNS/$ns/nsswitch.conf"
	{
		echo "127.0.0.1 localhost"
		for line in "$@"; do echo "$line"; done
	} >"$ETC_NETNS/$ns/hosts"
}

# srv_start [ARGS...]: rendezvousd -v on S (port 7450) with ARGS, its key
# in $LAB_DIR/rdvd (made on the first start; RDVD_ID is its id).
srv_start() {
	lab_bg "$LAB_S" "$LAB_DIR/srv.out" "$LAB_DIR/srv.log" "$RDVD" -v --key-dir "$LAB_DIR/rdvd" \
		--listen "$LAB_S_IP:7450" "$@"
	t_log "$LAB_DIR/srv.log"
	wait_for 5 listening "$LAB_S" 7450 || { t_fail "rendezvousd did not start"; return 1; }
	RDVD_ID=$("$RDVD" --id --key-dir "$LAB_DIR/rdvd")
}

t__abort() {
	if [ -n "$T_CHILD" ]; then
		kill -TERM "$T_CHILD" 2>/dev/null
		lab_wait_pid "$T_CHILD" 10
	fi
	echo "interrupted"
	T_FAILED=$((T_FAILED + 1))
	t_summary
	exit "$1"
}

t_run() {
	local name=$1 rc start=$SECONDS
	shift
	T_N=$((T_N + 1))
	(
		# shellcheck disable=SC2030
		LAB_PREFIX="ptcp$$c$T_N"
		T_NAME=$name T_BAD=0 T_LOGS=()
		lab_init || exit 1
		"$@"
		rc=$?
		[ "$T_BAD" = 1 ] && rc=1
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
			[ "$T_BAD" = 1 ] || echo "    $T_NAME: failed (status $rc)"
			t__dump_logs
		fi
		exit "$rc"
	) &
	T_CHILD=$!
	lab_wait_pid "$T_CHILD" "$T_CASE_LIMIT"
	rc=$?
	T_CHILD=""
	# a case killed at its limit may not have cleaned up
	t__remove_case_netns "ptcp$$c$T_N"
	case $rc in
	0) T_PASSED=$((T_PASSED + 1)); echo "ok   $name ($((SECONDS - start)) s)" ;;
	77) T_SKIPPED=$((T_SKIPPED + 1)); echo "skip $name" ;;
	124) T_FAILED=$((T_FAILED + 1)); echo "FAIL $name: took more than $T_CASE_LIMIT s" ;;
	*) T_FAILED=$((T_FAILED + 1)); echo "FAIL $name" ;;
	esac
}

t__remove_case_netns() {
	local ns pids
	for ns in $(ip netns list | awk -v p="$1-" 'index($1, p) == 1 { print $1 }'); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
		rm -rf "${ETC_NETNS:?}/$ns"
	done
	rm -rf "/tmp/$1".??????
}

t_summary() {
	if [ "$T_SKIPPED" -gt 0 ]; then
		echo "netns: $T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
	else
		echo "netns: $T_PASSED passed, $T_FAILED failed"
	fi
	[ "$T_FAILED" -eq 0 ]
}

# t_fail MSG: fail the current case (it may go on checking).
t_fail() {
	echo "    $T_NAME: $*"
	T_BAD=1
	return 1
}

# t_log FILE: dump FILE when the case fails.
t_log() { T_LOGS+=("$1"); }

t__dump_logs() {
	local f n
	for f in "${T_LOGS[@]}"; do
		[ -e "$f" ] || continue
		n=$(wc -l <"$f")
		echo "    --- ${f##*/} ($n lines$([ "$n" -gt 100 ] && echo ", first 30 and last 70"))"
		if [ "$n" -gt 100 ]; then
			{ head -30 "$f"; echo "..."; tail -70 "$f"; } | sed 's/^/    | /'
		else
			sed 's/^/    | /' "$f"
		fi
	done
}

# t_need_p2ptcp: skip the case when the program is not built.
t_need_p2ptcp() {
	if [ ! -x "$P2PTCP" ]; then
		echo "    $T_NAME: $P2PTCP not built"
		return 77
	fi
}

# --- rdvpeer in a namespace (test_rendezvous, test_redis) ---------------------------
#
# They need RDVPEER (tests/tools/rdvpeer) and NS (the namespace) set.

# rdvpeer_keys NAME...: an rdvpeer key per name in $LAB_DIR/NAME; sets ID_NAME.
rdvpeer_keys() {
	local n
	for n in "$@"; do
		eval "ID_$n=\$(\"\$RDVPEER\" keygen \"\$LAB_DIR/$n\")" || return 1
	done
}

# peer_bg NAME RDVPEER-ARGS...: rdvpeer in $NS in the background, output in
# NAME.out; sets PID_NAME.
peer_bg() {
	local name=$1
	shift
	lab_bg "$NS" "$LAB_DIR/$name.out" "$LAB_DIR/$name.err" "$RDVPEER" "$@"
	eval "PID_$name=\$LAB_LAST_PID"
	t_log "$LAB_DIR/$name.out"
	t_log "$LAB_DIR/$name.err"
}

# rdvpeer_go_match NAME PEER PEER-ID PEER-PUBLIC PEER-ISN NAME-PUBLIC NAME-ISN:
# SIGUSR2 to rdvpeer NAME (started with --on-signal) makes its request;
# then NAME and PEER must exit 0, each matched with the other's
# endpoint and ISN (expect_field of the suite reads their match lines).
rdvpeer_go_match() {
	local pid
	eval "pid=\$PID_$1"
	kill -USR2 "$pid"
	lab_wait_pid "$pid" 10 || t_fail "$1 exited $?: $(cat "$LAB_DIR/$1.out")"
	expect_field "$1" match peer "$3"
	expect_field "$1" match public "$4"
	expect_field "$1" match peer_isn "$5"
	eval "pid=\$PID_$2"
	lab_wait_pid "$pid" 10 || t_fail "$2 exited $?: $(cat "$LAB_DIR/$2.out")"
	expect_field "$2" match public "$6"
	expect_field "$2" match peer_isn "$7"
}

# peer_run NAME RDVPEER-ARGS...: rdvpeer in $NS in the foreground, bounded
# by PEER_RUN_LIMIT seconds (default 90); output in NAME.out; returns its
# status.
peer_run() {
	local name=$1
	shift
	t_log "$LAB_DIR/$name.out"
	timeout "${PEER_RUN_LIMIT:-90}" ip netns exec "$NS" "$RDVPEER" "$@" >"$LAB_DIR/$name.out" 2>&1
}

# --- peers ------------------------------------------------------------------------------

# eng_start NAME NS NBYTES SEED HOLD P2PTCP-ARGS...: start p2ptcp in NS (with
# -v). Its stdin gets NBYTES of `kpeer gen` from SEED and then, if HOLD is
# not "-", stays open until the file HOLD exists (so the FIN waits); its
# stdout is counted and hashed into $LAB_DIR/NAME.hash, and the file
# $LAB_DIR/NAME.got appears once NBYTES arrived. -v log: $LAB_DIR/NAME.log.
# Sets PID_NAME.
eng_start() {
	local name=$1 ns=$2 n=$3 seed=$4 hold=$5 d=$LAB_DIR
	shift 5
	mkfifo "$d/$name.in" "$d/$name.out" || return 1
	"$KPEER" hash --expect "$n" --flag "$d/$name.got" <"$d/$name.out" >"$d/$name.hash" 2>&1 &
	lab_track $!
	{
		"$KPEER" gen "$n" --seed "$seed"
		if [ "$hold" != - ]; then
			wait_for "$T_CASE_LIMIT" test -e "$hold"
		fi
	} >"$d/$name.in" 2>"$d/$name.feed" &
	lab_track $!
	echo "+ p2ptcp $* -v" >"$d/$name.log"
	ip netns exec "$ns" ${ENG_WRAP:-} "$P2PTCP" "$@" -v <"$d/$name.in" >"$d/$name.out" 2>>"$d/$name.log" &
	eval "PID_$name=\$!"
	lab_track $!
	t_log "$d/$name.log"
}

# kp_start NAME NS KPEER-ARGS...: start kpeer in NS; stdout in NAME.out,
# stderr in NAME.err. Sets PID_NAME.
kp_start() {
	local name=$1 ns=$2
	shift 2
	echo "+ kpeer $*" >"$LAB_DIR/$name.err"
	ip netns exec "$ns" "$KPEER" "$@" >"$LAB_DIR/$name.out" 2>>"$LAB_DIR/$name.err" </dev/null &
	eval "PID_$name=\$!"
	lab_track $!
	t_log "$LAB_DIR/$name.err"
	t_log "$LAB_DIR/$name.out"
}

# peer_wait NAME [LIMIT]: wait for a peer started above; prints nothing,
# returns its exit status (124: it did not finish in time and was killed).
peer_wait() {
	local pid
	eval "pid=\${PID_$1}"
	lab_wait_pid "$pid" "${2:-$T_XFER_LIMIT}"
}

# expect_exit NAME STATUS [WANT]: fail unless STATUS is WANT (default 0).
expect_exit() {
	local want=${3:-0}
	[ "$2" -eq "$want" ] && return 0
	if [ "$2" -eq 124 ]; then
		t_fail "$1 did not finish in time"
	else
		t_fail "$1 exited with status $2, want $want"
	fi
}

# sum N SEED: what `kpeer hash` prints for `kpeer gen N --seed SEED`.
sum() { "$KPEER" sum "$1" --seed "$2"; }

# expect_eng_data NAME N SEED: the engine NAME received exactly the N bytes
# that `gen N --seed SEED` makes.
expect_eng_data() {
	local got want
	# the hasher prints once it has read the end of p2ptcp's output,
	# which may be a moment after p2ptcp exited
	wait_for 5 test -s "$LAB_DIR/$1.hash"
	got=$(cat "$LAB_DIR/$1.hash" 2>/dev/null)
	want=$(sum "$2" "$3")
	[ "$got" = "$want" ] || t_fail "$1 received '$got', want '$want'"
}

# expect_kp_data NAME N SEED: the kernel peer NAME received those N bytes.
expect_kp_data() {
	local got want
	got=$(sed -n 's/^recv //p' "$LAB_DIR/$1.out" 2>/dev/null)
	want=$(sum "$2" "$3")
	[ "$got" = "$want" ] || t_fail "$1 (kernel) received '$got', want '$want'"
}

# expect_no_tables NS: no nftables table named p2ptcp_* is left in NS.
expect_no_tables() {
	if ! wait_for 3 lab__no_tables "$1"; then
		t_fail "tables left in ${1#"$LAB_PREFIX"-}: $(lab_nft_tables "$1" | grep p2ptcp_ | tr '\n' ' ')"
	fi
}

lab__no_tables() { ! lab_nft_tables "$1" | grep -q 'p2ptcp_'; }

# expect_pair A B N: the engines A (fed from seed 1) and B (seed 2) both
# exit 0, each with exactly the other's N bytes.
expect_pair() {
	local ra rb
	peer_wait "$1"; ra=$?
	peer_wait "$2"; rb=$?
	expect_exit "p2ptcp $1" $ra
	expect_exit "p2ptcp $2" $rb
	expect_eng_data "$1" "$3" 2
	expect_eng_data "$2" "$3" 1
}

# expect_kernel_pair ENGINE KERNEL N [SEED]: the engine ENGINE (fed from
# SEED, default 1) and the kernel peer KERNEL (the other seed of 1 and 2)
# both exit 0, each with exactly the other's N bytes.
expect_kernel_pair() {
	local re rk seed=${4:-1}
	peer_wait "$1"; re=$?
	peer_wait "$2"; rk=$?
	expect_exit "p2ptcp" $re
	expect_exit "kernel" $rk
	expect_eng_data "$1" "$3" $((3 - seed))
	expect_kp_data "$2" "$3" "$seed"
}

# expect_clean_end PCAP: no RST in the capture but those of two races of a
# closing TCP, not faults:
# - a RST from an end that had sent the same FIN twice: our ACK of the
#   kernel's FIN is late (on this loaded 2-CPU VM a burst of segments can
#   wait in the receiving namespace's softirq backlog for ~15 ms), the
#   kernel's tail loss probe resends its FIN, the late ACK closes the
#   kernel's socket, and our TIME-WAIT's answer to the resent FIN (RFC 9293
#   3.10.7.4: an ACK) then finds no socket there: Linux in our place draws
#   the same RST.
# - a RST from an end that had closed (both FINs seen before it) answering
#   a segment that acknowledges no more than that end's FIN (its RST's
#   sequence number, SEG.ACK, is at most one past the FIN), which RFC 9293
#   3.10.7.1 answers with <SEQ=SEG.ACK><CTL=RST>, as Linux does. veth
#   queues a packet on the sending CPU's backlog, so two CPUs reorder a
#   flow by milliseconds under load, and such a segment comes two ways:
#   - sent before the ACK of the FIN, it arrives after it;
#   - the other end's TIME-WAIT answers a reordered older ACK (one sent
#     before the FIN it overtook: its timestamp is older than TS.Recent)
#     with an ACK of the FIN (RFC 7323 5.3 R1: a segment with an old
#     timestamp is answered with an ACK; Linux's TIME-WAIT does the same),
#     and that second ACK of the FIN finds the connection its first one
#     closed. Seen in `service ssh` (the TIME-WAIT end's own capture: FIN
#     at TSval 996, then an ACK at TSval 995 14 ms later).
expect_clean_end() {
	local bad
	bad=$(tcpdump -nSr "$1" 2>/dev/null | lab_unexplained_rsts)
	[ -z "$bad" ] || t_fail "RSTs on the wire: $(echo "$bad" | head -3)"
}

# lab_unexplained_rsts: of the `tcpdump -nS` lines on stdin (FINs and RSTs
# suffice), the RST lines expect_clean_end does not explain.
lab_unexplained_rsts() {
	awk '
		function num(s) { sub(/[:,].*/, "", s); return s + 0 }
		{ src = $3; dst = $5; sub(/:$/, "", dst); fl = $0
		  sub(/.*Flags \[/, "", fl); sub(/\].*/, "", fl)
		  s = $0; sub(/.* seq /, "", s); seq = num(s); fin_at = seq
		  if (s ~ /^[0-9]+:/) { sub(/^[0-9]+:/, "", s); fin_at = num(s) } }
		fl ~ /F/ { if ((src, seq) in fin) twice[src] = 1; fin[src, seq] = 1
			   fin_seq[src] = fin_at; fin_to[src] = dst }
		fl ~ /R/ && !(src in twice) {
			if ((src in fin_seq) && (fin_to[src] in fin_seq)) {
				d = fin_seq[src] + 1 - seq; if (d < 0) d += 4294967296
				if (d < 2147483648) next
			}
			print }'
}

# expect_no_rst PCAP: no RST in the capture (IPv4 or IPv6).
expect_no_rst() {
	local r
	r=$(lab_pcap_rsts "$1")
	[ "$r" -eq 0 ] ||
		t_fail "$r RSTs on the wire: $(tcpdump -nr "$1" "$(lab_tcp_flags 4 4)" 2>/dev/null | head -3)"
}

# --- capabilities of a running p2ptcp ------------------------------------------------

# status_of PID FIELD: the value of FIELD in /proc/PID/status.
status_of() { sed -nE "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }

# expect_status NAME PID FIELD WANT
expect_status() {
	local got
	got=$(status_of "$2" "$3")
	[ "$got" = "$4" ] || t_fail "$1: $3 is '$got', want '$4'"
}

# dropped NAME: its -v log says the privileges were dropped.
dropped() { grep -q "privileges: " "$LAB_DIR/$1.log" 2>/dev/null; }

# --- another user: nobody, with and without a setcap'd p2ptcp ---------------------

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# nobody_dir: a directory nobody can use (0755, with a world-writable w/),
# removed on exit; sets NB_DIR.
nobody_dir() {
	NB_DIR=$(mktemp -d /tmp/ptcp-nobody.XXXXXX) || return 1
	lab_at_exit "rm -rf '$NB_DIR'"
	chmod 755 "$NB_DIR"
	mkdir -m 1777 "$NB_DIR/w"
}

# nobody_squat NAME NS PORT KPEER-SQUAT-ARGS...: nobody runs `kpeer squat
# PORT ARGS` ($NB_DIR/kpeer, a copy the caller installed) in NS; the bind
# must be refused (EADDRINUSE). A bound squatter keeps listening (and would
# take the connection).
nobody_squat() {
	local name=$1 ns=$2 port=$3
	shift 3
	echo "+ kpeer squat $port $*" >"$LAB_DIR/$name.err"
	ip netns exec "$ns" "${NOBODY[@]}" "$NB_DIR/kpeer" squat "$port" "$@" --timeout 30 </dev/null \
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

# nobody_p2ptcp: $NB_DIR/p2ptcp, a copy of p2ptcp with
# cap_net_raw,cap_net_admin+ep (any user who runs it gets both).
nobody_p2ptcp() {
	install -m 755 "$P2PTCP" "$NB_DIR/p2ptcp" &&
		setcap cap_net_raw,cap_net_admin+ep "$NB_DIR/p2ptcp" ||
		{ t_fail "cannot make a setcap'd copy of p2ptcp"; return 1; }
}
