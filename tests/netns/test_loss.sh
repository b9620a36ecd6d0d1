#!/bin/bash
# Random loss on the path (the statistic match on NAT A, on both of its
# interfaces: both directions), 16 MiB each way, hashes compared:
# p2ptcp <-> p2ptcp through both NATs at 1% and 5%, and p2ptcp <-> the
# kernel at 5%. The drop counters must show that loss really happened.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N=${LOSS_BYTES:-$((16 * MiB))}
# loss makes a transfer slower; still bounded
T_XFER_LIMIT=${T_LOSS_LIMIT:-200}
T_CASE_LIMIT=${T_CASE_LIMIT:-260}

lossy_nat() { # P
	lab_two_nat drop || return 1
	lab_loss "$LAB_NA" lan0 "$1"
	lab_loss "$LAB_NA" wan0 "$1"
}

# the statistic rules dropped something in both directions
expect_loss() {
	local c p
	for c in lan0 wan0; do
		p=$(lab_exec "$LAB_NA" iptables -nvx -L FORWARD |
			awk -v i="$c" '$3 == "DROP" && $6 == i && /statistic/ { print $1 }')
		[ "${p:-0}" -gt 0 ] || t_fail "nothing dropped arriving on $c: no loss happened"
	done
	echo "    (dropped: lan0 $(lab_exec "$LAB_NA" iptables -nvx -L FORWARD |
		awk '$6 == "lan0" && /statistic/ { print $1 }'), wan0 $(lab_exec "$LAB_NA" iptables -nvx -L FORWARD |
		awk '$6 == "wan0" && /statistic/ { print $1 }') packets)"
}

case_engines() {
	local ra rb
	t_need_p2ptcp || return
	lossy_nat "$1" || return 1
	eng_start eb "$LAB_B" "$N" 2 - connect --local-port 40002 --local-addr "$LAB_B_IP" \
		--peer "$LAB_A_PUB:40001" --punch-interval 200
	sleep 0.2
	eng_start ea "$LAB_A" "$N" 1 - connect --local-port 40001 --local-addr "$LAB_A_IP" \
		--peer "$LAB_B_PUB:40002" --punch-interval 200
	peer_wait ea; ra=$?
	peer_wait eb; rb=$?
	expect_exit "p2ptcp A" $ra
	expect_exit "p2ptcp B" $rb
	expect_eng_data ea "$N" 2
	expect_eng_data eb "$N" 1
	expect_no_tables "$LAB_A"
	expect_no_tables "$LAB_B"
	expect_loss
}

case_kernel() {
	local re rk
	t_need_p2ptcp || return
	lossy_nat "$1" || return 1
	kp_start kb "$LAB_B" simopen --bind "$LAB_B_IP:40002" "$LAB_A_PUB:40001" \
		--send "$N" --seed 2 --timeout "$T_XFER_LIMIT"
	sleep 0.2
	eng_start ea "$LAB_A" "$N" 1 - connect --local-port 40001 --local-addr "$LAB_A_IP" \
		--peer "$LAB_B_PUB:40002" --punch-interval 200
	peer_wait ea; re=$?
	peer_wait kb; rk=$?
	expect_exit "p2ptcp" $re
	expect_exit "kernel" $rk
	expect_eng_data ea "$N" 2
	expect_kp_data kb "$N" 1
	expect_no_tables "$LAB_A"
	expect_loss
}

t_init || exit 1
t_run "loss 1% both ways: p2ptcp <-> p2ptcp through NATs, 16 MiB each way" case_engines 0.01
t_run "loss 5% both ways: p2ptcp <-> p2ptcp through NATs, 16 MiB each way" case_engines 0.05
t_run "loss 5% both ways: p2ptcp <-> kernel through NATs, 16 MiB each way" case_kernel 0.05
t_summary
