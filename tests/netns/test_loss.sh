#!/bin/bash
# Random loss on the path (the statistic match on NAT A, on both of its
# interfaces: both directions), with the lab's own round trip and with a
# real one of 20 ms (10 ms each way on the internet router, lab_delay),
# at 1% and 5%. On each path: p2ptcp <-> p2ptcp both ways at once, and one
# way p2ptcp -> kernel, kernel -> p2ptcp and kernel -> kernel, every byte
# checked by hash. The drop counters must show that loss happened.
#
# Each one-way case prints its goodput; the last lines compare the engine
# with the kernel on the same path. The kernel sender runs twice: with the
# system's congestion control (bbr on the development VM: it does not take
# random loss for congestion) and with reno (--cc reno, loss-based like the
# engine's CUBIC and NewReno, and allowed to unprivileged sockets). Those figures are for reading: timed
# targets are `make bench`'s (tests/bench/run.sh), never asserted here.
# LOSS_BYTES (16 MiB) is moved per direction at the lab's round trip,
# LOSS_DELAY_BYTES (2 MiB) at 20 ms.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/netns/lab.sh

N_LAB=${LOSS_BYTES:-$((16 * MiB))}
N_DELAY=${LOSS_DELAY_BYTES:-$((2 * MiB))}
# loss makes a transfer slower; still bounded
T_XFER_LIMIT=${T_LOSS_LIMIT:-200}
T_CASE_LIMIT=${T_CASE_LIMIT:-260}
LOSS_RES=$(mktemp -d /tmp/ptcp-loss.XXXXXX) || exit 1
trap 'rm -rf "$LOSS_RES"' EXIT

# lossy_nat P DELAY_MS: the two-NAT lab, loss P both ways on NAT A, and
# (if DELAY_MS > 0) that much delay each way on the internet router.
lossy_nat() {
	lab_two_nat drop || return 1
	lab_loss "$LAB_NA" lan0 "$1"
	lab_loss "$LAB_NA" wan0 "$1"
	if [ "$2" -gt 0 ]; then
		lab_delay "$LAB_INET" "$2" || { t_fail "no delay helper: $LAB_NFQDELAY"; return 1; }
	fi
}

bytes_for() { if [ "$1" -gt 0 ]; then echo "$N_DELAY"; else echo "$N_LAB"; fi; }

# the statistic rules dropped something in both directions. A direction
# that carried fewer than 1000 packets may see none dropped (at 1%, 1000
# pass untouched with a chance of 4e-5): p2ptcp's driver reads a batch of
# segments before it answers, so the ACKs of 2 MiB sent to it at 20 ms are
# about 190 (a kernel receiver's: 550), and at 1% all of them pass one run
# in six (seen under ASan).
expect_loss() {
	local c p n
	for c in lan0 wan0; do
		p=$(lab_exec "$LAB_NA" iptables -nvx -L FORWARD |
			awk -v i="$c" '$3 == "DROP" && $6 == i && /statistic/ { print $1 }')
		n=$(lab_exec "$LAB_NA" cat "/sys/class/net/$c/statistics/rx_packets")
		[ "${p:-0}" -gt 0 ] || [ "${n:-0}" -lt 1000 ] ||
			t_fail "nothing dropped of the $n packets arriving on $c: no loss happened"
	done
}

# record KEY BYTES SECS: print and keep one direction's goodput.
record() {
	local mbit
	mbit=$(awk -v b="$2" -v s="$3" 'BEGIN { if (s > 0) printf "%.1f", b * 8 / s / 1e6; else print 0 }')
	echo "    goodput: $(($2 / MiB)) MiB in $3 s, $mbit Mbit/s"
	echo "$mbit" >"$LOSS_RES/$1"
}

case_engines() { # P DELAY_MS
	local ra rb n
	t_need_p2ptcp || return
	n=$(bytes_for "$2")
	lossy_nat "$1" "$2" || return 1
	eng_start eb "$LAB_B" "$n" 2 - connect --local-port 40002 --local-addr "$LAB_B_IP" \
		--peer "$LAB_A_PUB:40001" --punch-interval 200
	sleep 0.2
	eng_start ea "$LAB_A" "$n" 1 - connect --local-port 40001 --local-addr "$LAB_A_IP" \
		--peer "$LAB_B_PUB:40002" --punch-interval 200
	peer_wait ea; ra=$?
	peer_wait eb; rb=$?
	expect_exit "p2ptcp A" $ra
	expect_exit "p2ptcp B" $rb
	expect_eng_data ea "$n" 2
	expect_eng_data eb "$n" 1
	expect_no_tables "$LAB_A"
	expect_no_tables "$LAB_B"
	expect_loss
}

# One way from A to B, SENDER and RECEIVER each "engine" or "kernel":
# the receiver's count and time from the first byte to the last. CC, if
# given, is a kernel sender's congestion control.
case_oneway() { # P DELAY_MS SENDER RECEIVER [CC]
	local n rs rr secs key=$1-$2-$3-$4${5:+-$5}
	[ "$3$4" = kernelkernel ] || { t_need_p2ptcp || return; }
	n=$(bytes_for "$2")
	lossy_nat "$1" "$2" || return 1
	if [ "$4" = kernel ]; then
		kp_start kb "$LAB_B" simopen --bind "$LAB_B_IP:40002" "$LAB_A_PUB:40001" --stats \
			--timeout "$T_XFER_LIMIT"
	else
		eng_start eb "$LAB_B" 0 2 - connect --local-port 40002 --local-addr "$LAB_B_IP" \
			--peer "$LAB_A_PUB:40001" --punch-interval 200
	fi
	# Half way between B's SYNs (every 200 ms, or the kernel's after 1 s):
	# a kernel A that gets B's SYN within a round trip of its own times
	# its RTT from the SYN-ACK it answers with, as little as half the
	# path's, and bbr keeps that min RTT (half the cwnd) for the run.
	sleep 0.1
	if [ "$3" = kernel ]; then
		kp_start ka "$LAB_A" simopen --bind "$LAB_A_IP:40001" "$LAB_B_PUB:40002" --send "$n" \
			--seed 1 --stats --timeout "$T_XFER_LIMIT" ${5:+--cc "$5"}
		peer_wait ka; rs=$?
		expect_exit "kernel A" $rs
	else
		eng_start ea "$LAB_A" "$n" 1 - connect --local-port 40001 --local-addr "$LAB_A_IP" \
			--peer "$LAB_B_PUB:40002" --punch-interval 200
		peer_wait ea; rs=$?
		expect_exit "p2ptcp A" $rs
		expect_no_tables "$LAB_A"
	fi
	if [ "$4" = kernel ]; then
		peer_wait kb; rr=$?
		expect_exit "kernel B" $rr
		expect_kp_data kb "$n" 1
		secs=$(sed -nE 's/.*xfer_secs=([0-9.]+).*/\1/p' "$LAB_DIR/kb.out" | tail -1)
	else
		peer_wait eb; rr=$?
		expect_exit "p2ptcp B" $rr
		expect_eng_data eb "$n" 1
		expect_no_tables "$LAB_B"
		# from ESTABLISHED to the sender's FIN, in the receiver's log
		secs=$(awk '/established after/ && t0 == "" { t0 = $3 }
			/-> (CLOSE-WAIT|TIME-WAIT|CLOSING)/ && t1 == "" { t1 = $3 }
			END { sub(/\]/, "", t0); sub(/\]/, "", t1); if (t1 + 0 > t0 + 0) printf "%.3f", t1 - t0 }' \
			"$LAB_DIR/eb.log")
	fi
	expect_loss
	[ -n "$secs" ] && record "$key" "$n" "$secs"
}

t_init || exit 1
for delay in 0 10; do
	for p in 0.01 0.05; do
		pct=$(awk -v p="$p" 'BEGIN { printf "%d%%", p * 100 }')
		rtt=$([ "$delay" -gt 0 ] && echo "20 ms round trip" || echo "lab round trip")
		mib=$(($(bytes_for "$delay") / MiB))
		t_run "loss $pct, $rtt: p2ptcp <-> p2ptcp, $mib MiB each way" case_engines "$p" "$delay"
		t_run "loss $pct, $rtt: p2ptcp -> kernel" case_oneway "$p" "$delay" engine kernel
		t_run "loss $pct, $rtt: kernel -> p2ptcp" case_oneway "$p" "$delay" kernel engine
		t_run "loss $pct, $rtt: kernel -> kernel" case_oneway "$p" "$delay" kernel kernel
		t_run "loss $pct, $rtt: kernel (reno) -> kernel" case_oneway "$p" "$delay" kernel kernel reno
	done
done

echo "goodput, p2ptcp / kernel -> kernel on the same path (one run each; make bench measures);"
echo "the engine's sending also against a reno kernel sender (both loss-based):"
for delay in 0 10; do
	for p in 0.01 0.05; do
		ref=$(cat "$LOSS_RES/$p-$delay-kernel-kernel" 2>/dev/null)
		reno=$(cat "$LOSS_RES/$p-$delay-kernel-kernel-reno" 2>/dev/null)
		for dir in engine-kernel kernel-engine; do
			got=$(cat "$LOSS_RES/$p-$delay-$dir" 2>/dev/null)
			awk -v g="${got:-}" -v r="${ref:-}" -v rr="${reno:-}" -v p="$p" -v d="$delay" -v w="$dir" 'BEGIN {
				if (g == "" || r == "" || r == 0) exit
				printf "  loss %2d%%, %-6s %-14s %7.1f Mbit/s vs %7.1f: %6.1f%%", p * 100,
				       (d > 0 ? "20 ms" : "lab"), w, g, r, 100 * g / r
				if (w == "engine-kernel" && rr != "" && rr > 0)
					printf ", vs reno %7.1f: %6.1f%%", rr, 100 * g / rr
				printf "\n" }'
		done
	done
done
t_summary
