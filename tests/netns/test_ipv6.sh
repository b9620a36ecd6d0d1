#!/bin/bash
# IPv6 end to end in direct mode, 16 MiB each way with hashes compared and
# both FINs seen on the wire (captures with lab_tcp_flags: libpcap's tcp[]
# does not index IPv6); the kernel's TCP against ours on an IPv6 link is
# in test_kernel.sh, rendezvous mode in test_dualstack.sh:
#   engines:  on a link with 2001:db8::/64, p2ptcp to p2ptcp with --pcap
#             (IPv6 headers made up for both directions, tcpdump reads
#             them);
#   firewall: through two stateful IPv6 firewalls (ip6tables with
#             conntrack, no NAT), the kernel's and p2ptcp's simultaneous
#             open against our connect: the firewalls open by it.
# The port and the privileges over IPv6 are in test_port.sh and
# test_privs.sh.
# Ends with "netns: P passed, F failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=$((16 * MiB))

# ipv6_fins PCAP A B: FINs from both, and every segment of the capture IPv6.
ipv6_fins() {
	local f=$1 v4
	[ "$(lab_pcap_fins "$f" "$2")" -ge 1 ] || t_fail "no FIN from $2 in ${f##*/}"
	[ "$(lab_pcap_fins "$f" "$3")" -ge 1 ] || t_fail "no FIN from $3 in ${f##*/}"
	v4=$(lab_pcap_count "$f" ip)
	[ "$v4" -eq 0 ] || t_fail "$v4 IPv4 segments in ${f##*/}"
}

# p2ptcp to p2ptcp over IPv6, each with --pcap: the captures read back as
# IPv6 TCP in both directions.
case_engines() {
	local n
	t_need_p2ptcp || return
	lab_link6 || return 1
	eng_start ea "$LAB_A" $N 1 - connect --local-port 40001 --peer "[$LAB_B_IP6]:40002" \
		--pcap "$LAB_DIR/a.pcap"
	eng_start eb "$LAB_B" $N 2 - connect --local-port 40002 --peer "[$LAB_A_IP6]:40001" \
		--pcap "$LAB_DIR/b.pcap"
	expect_pair ea eb $N
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
	local who=$1 f=$LAB_DIR/c.pcap
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
		expect_kernel_pair ea kb $N
	else
		expect_pair ea eb $N
	fi
	expect_no_tables "$LAB_A"
	echo "    to ESTABLISHED: A $(est_time ea) s after its start (B started 0.3 s before)"
	sleep 0.2
	lab_capture_stop
	ipv6_fins "$f" "$LAB_A_IP6" "$LAB_B_IP6"
	# the firewalls dropped what came before they were open
	[ "$(ip netns exec "$LAB_NA" ip6tables -vnL FORWARD | awk '/policy DROP/ { print $5 }')" != 0 ] ||
		t_fail "firewall A dropped nothing: were the SYNs unsolicited at all?"
}

t_init || exit 1
t_run "ipv6 link: p2ptcp to p2ptcp, both --pcap files IPv6" case_engines
t_run "ipv6 firewalls: kernel simultaneous open through two stateful firewalls" case_firewall kernel
t_run "ipv6 firewalls: p2ptcp to p2ptcp through two stateful firewalls" case_firewall engine
t_summary
