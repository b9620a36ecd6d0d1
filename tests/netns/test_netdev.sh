#!/bin/bash
# Which devices a packet ring may take packets on (core/net/netdev.c;
# docs/driver.md, "The receive ring"), asked of a real kernel in a
# namespace A made for it with tests/tools/netdevls:
#   - devices: A has lo, a veth vo to namespace B (its IFLA_LINK names B's
#     end, with IFLA_LINK_NETNSID), a veth pair va/vb with both ends in A
#     and vb a port of bridge br0, a VLAN vl.10 on a veth vl to B (when
#     the kernel has VLANs) and a macvlan mvm on a veth vm to B. Listed,
#     in ifindex order: exactly lo, br0, va, vo, mvm, vl.10 (not the port
#     vb, not the lower devices vl and vm); B's ends are all listed in B.
#     With vb released and the uppers deleted, those come back; with room
#     for 2 the answer is -E2BIG and says how many qualify;
#   - ingress: no qdisc of kind ingress or clsact, then `tc qdisc add dev
#     vo clsact` is reported on vo and an ingress qdisc on mvm on mvm,
#     and after their removal, with an fq qdisc (egress) on vo, nothing
#     is (skipped, visibly, without tc).
# Nothing is sent: the links carry no addresses.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

NETDEVLS=${NETDEVLS:-$BUILD/tests/tools/netdevls}

# topology: A and B with the devices above; WANT_A and WANT_B are what
# each should list. A kernel without VLANs (8021q) gets no vl.10: its
# parent vl is then listed, and the case says so.
topology() {
	lab__ns_add a && A=$LAB_NS_LAST || return 1
	lab__ns_add b && B=$LAB_NS_LAST || return 1
	lab__veth "$A" vo "$B" vo || return 1
	ip -n "$A" link add br0 type bridge || return 1
	ip -n "$A" link add va type veth peer name vb || return 1
	ip -n "$A" link set vb master br0 || return 1
	lab__veth "$A" vl "$B" vl || return 1
	lab__veth "$A" vm "$B" vm || return 1
	ip -n "$A" link add link vm name mvm type macvlan mode bridge || return 1
	WANT_A="lo br0 va vo mvm" WANT_B="lo vo vl vm"
	if ip -n "$A" link add link vl name vl.10 type vlan id 10 2>"$LAB_DIR/vlan"; then
		WANT_A="$WANT_A vl.10"
		ip -n "$A" link set vl.10 up || return 1
	else
		# shellcheck disable=SC2031
		echo "    $T_NAME: no VLAN in this kernel ($(cat "$LAB_DIR/vlan")): that part skipped"
		WANT_A="$WANT_A vl"
	fi
	local d
	for d in br0 va vb mvm; do
		ip -n "$A" link set "$d" up || return 1
	done
}

# in_ifindex_order NS NAME...: the names, in NS's ifindex order.
in_ifindex_order() {
	local ns=$1
	shift
	ip -n "$ns" -o link show | sed -E 's/^([0-9]+): ([^:@]+).*/\1 \2/' |
		awk -v want=" $* " 'index(want, " " $2 " ") { printf "%s%s", n++ ? " " : "", $2 } END { print "" }'
}

# expect_devices NS NAME...: netdevls lists exactly these, in ifindex order.
expect_devices() {
	local ns=$1 got want
	shift
	want=$(in_ifindex_order "$ns" "$@")
	[ "$(echo "$want" | wc -w)" -eq $# ] || { t_fail "not all of '$*' exist in $ns"; return 1; }
	got=$(lab_exec "$ns" "$NETDEVLS" devices 2>"$LAB_DIR/why") || {
		t_fail "netdevls devices in $ns failed: $(cat "$LAB_DIR/why")"
		return 1
	}
	[ "$got" = "$want" ] || t_fail "devices in $ns: '$got', want '$want'"
}

# expect_ingress WANT: netdevls ingress in A prints exactly WANT.
expect_ingress() {
	local got
	got=$(lab_exec "$A" "$NETDEVLS" ingress 2>&1)
	[ "$got" = "$1" ] || t_fail "ingress: '$got', want '$1'"
}

case_devices() {
	local err n
	topology || return 1
	# shellcheck disable=SC2086
	expect_devices "$A" $WANT_A
	# shellcheck disable=SC2086
	expect_devices "$B" $WANT_B
	# Room for 2 of them.
	n=$(echo "$WANT_A" | wc -w)
	if lab_exec "$A" "$NETDEVLS" devices 2 >/dev/null 2>"$LAB_DIR/e2big"; then
		t_fail "room for 2 of $n devices: not refused"
	fi
	err=$(cat "$LAB_DIR/e2big")
	[ "${err% (*}" = "netdevls: $n devices qualify, room for 2" ] || t_fail "room for 2: '$err'"
	# The port released, the uppers gone: vb, vm (and vl) are seen once
	# again.
	ip -n "$A" link set vb nomaster || return 1
	ip -n "$A" link del mvm || return 1
	ip -n "$A" link del vl.10 2>/dev/null
	expect_devices "$A" lo br0 va vb vo vl vm
}

case_ingress() {
	if ! command -v tc >/dev/null 2>&1; then
		# shellcheck disable=SC2031
		echo "    $T_NAME: skipped: tc(8) is not installed"
		return 77
	fi
	topology || return 1
	expect_ingress "none: no ingress or clsact qdisc"
	lab_exec "$A" tc qdisc add dev vo clsact || return 1
	expect_ingress "hook: qdisc clsact on vo"
	lab_exec "$A" tc qdisc del dev vo clsact || return 1
	lab_exec "$A" tc qdisc add dev mvm ingress || return 1
	expect_ingress "hook: qdisc ingress on mvm"
	lab_exec "$A" tc qdisc del dev mvm ingress || return 1
	# An egress qdisc is no ingress hook.
	lab_exec "$A" tc qdisc add dev vo root fq 2>/dev/null ||
		lab_exec "$A" tc qdisc add dev vo root pfifo || return 1
	expect_ingress "none: no ingress or clsact qdisc"
}

t_init || exit 1
if [ ! -x "$NETDEVLS" ]; then
	echo "netns: $NETDEVLS is missing (make test-build)"
	exit 1
fi
t_run "devices: lo, a veth, a bridge (not its port), a VLAN and a macvlan (not their lower devices); -E2BIG" case_devices
t_run "ingress: a clsact or ingress qdisc is reported, other qdiscs are not" case_ingress
t_summary
